// Command operator serves operator actions invoked directly, such as
// creating an organization:
//
//	aws lambda invoke --function-name <OperatorFunction> \
//	  --payload file://events/operator/create-organization.json out.json
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/integration-hub/hub/internal/app"
)

func main() {
	lambda.Start(app.MustFromEnv().Operator().Handle)
}
