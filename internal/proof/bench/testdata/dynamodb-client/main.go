// Command dynamodb-client is the minimal Go Lambda (testdata/minimal) that
// also links and constructs the DynamoDB client the hub's functions use,
// and nothing of the hub. The benchmarks start it in turns with each
// function and the minimal Lambda, so the cold start report shows what the
// SDK's client costs before any code of the hub runs.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func main() {
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1"})
	lambda.Start(func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		// Never true for an event the harness sends: the call is there so
		// the client's operations are linked as a function's are.
		if len(event) == 0 {
			_, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("unused")})
			return nil, err
		}
		return event, nil
	})
}
