// Command authorizer is the HTTP API's Lambda authorizer (payload 2.0,
// simple responses).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/integration-hub/hub/internal/app"
)

func main() {
	lambda.Start(app.MustFromEnv().Authorizer().Handle)
}
