// Command marketplace is the In-App Marketplace function: the embeddable
// page, the end-user API and the marketplace settings, behind the API
// Gateway V2 adapter. All logic lives in internal/.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/integration-hub/hub/internal/app"
)

func main() {
	lambda.Start(app.MustFromEnv().Lambda("marketplace", app.MarketplaceRoutes))
}
