// Command partner-form is the Partner Form settings area: its routes behind the API
// Gateway V2 adapter. All logic lives in internal/.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/integration-hub/hub/internal/app"
)

func main() {
	lambda.Start(app.MustFromEnv().Lambda("partner-form", app.PartnerFormRoutes))
}
