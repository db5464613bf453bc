// Command integrations is the integrations function (integrations and
// their review, tenants, runs, and the public /v2 API): its routes behind
// the API Gateway V2 adapter. All logic lives in internal/.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/integration-hub/hub/internal/app"
)

func main() {
	lambda.Start(app.MustFromEnv().Lambda("integrations", app.IntegrationsRoutes))
}
