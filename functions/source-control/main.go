// Command source-control is the source-control function: the Source
// Control settings area's routes behind the API Gateway V2 adapter. All
// logic lives in internal/.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/integration-hub/hub/internal/app"
)

func main() {
	lambda.Start(app.MustFromEnv(app.WithSourceControl).Lambda("source-control", app.SourceControlRoutes))
}
