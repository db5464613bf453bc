// Command minimal is the smallest Go Lambda: it echoes its event. The
// benchmarks build it exactly as the hub's functions are built and start
// it under the same Runtime API harness, as the baseline of cold start,
// size and memory.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, event json.RawMessage) (json.RawMessage, error) { return event, nil })
}
