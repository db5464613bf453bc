// Command notifier sends the email of each event item that the table's
// stream delivers (the transactional outbox), reporting partial batch
// failures.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/app/appses"
)

func main() {
	lambda.Start(app.MustFromEnv(appses.WithSES).Notifier().Handle)
}
