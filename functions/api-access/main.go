// Command api-access is the API Access area's function: its routes behind
// the API Gateway V2 adapter. All logic lives in internal/.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/integration-hub/hub/internal/app"
)

func main() {
	handler, err := app.MustFromEnv(false).HTTPHandler("api-access")
	if err != nil {
		fmt.Fprintln(os.Stderr, "init:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
