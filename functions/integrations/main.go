// Command integrations is the integrations function (integrations and
// their review, tenants, runs, and the public /v2 API): its routes behind
// the API Gateway V2 adapter. All logic lives in internal/.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/integration-hub/hub/internal/app"
)

func main() {
	handler, err := app.MustFromEnv(false).HTTPHandler("integrations")
	if err != nil {
		fmt.Fprintln(os.Stderr, "init:", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}
