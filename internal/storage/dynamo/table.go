package dynamo

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/integration-hub/hub/internal/storage"
)

// tableActiveTimeout bounds the wait for a new table to become active.
const tableActiveTimeout = 5 * time.Minute

// CreateTable creates the table called name with the schema (string keys,
// every index projecting ALL, on-demand billing, a stream of streamView
// when not empty), waits until it is active and enables TTL on the schema's
// TTL attribute. Tests and the local stack create tables only through it,
// from template.yaml's table (template.Load().Table), so the template stays
// the one source of the schema.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string, s storage.Schema, streamView string) error {
	input := &dynamodb.CreateTableInput{
		TableName:            &name,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: attributeDefinitions(s),
		KeySchema:            keySchema(storage.Key{PK: s.PK, SK: s.SK}),
	}
	indexNames := make([]string, 0, len(s.Indexes))
	for indexName := range s.Indexes {
		indexNames = append(indexNames, indexName)
	}
	sort.Strings(indexNames)
	for _, indexName := range indexNames {
		input.GlobalSecondaryIndexes = append(input.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(indexName),
			KeySchema:  keySchema(s.Indexes[indexName]),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	if streamView != "" {
		input.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(streamView),
		}
	}
	if _, err := client.CreateTable(ctx, input); err != nil {
		return fmt.Errorf("dynamo: create table %s: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 500 * time.Millisecond
		o.MaxDelay = 10 * time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &name}, tableActiveTimeout); err != nil {
		return fmt.Errorf("dynamo: wait for table %s: %w", name, err)
	}
	_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: &name,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(s.TTL),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("dynamo: enable TTL on table %s: %w", name, err)
	}
	return nil
}

// LatestStreamArn is the ARN of the table's current stream.
func LatestStreamArn(ctx context.Context, client *dynamodb.Client, table string) (string, error) {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		return "", fmt.Errorf("dynamo: describe table %s: %w", table, err)
	}
	if out.Table == nil || out.Table.LatestStreamArn == nil {
		return "", fmt.Errorf("dynamo: table %s has no stream", table)
	}
	return *out.Table.LatestStreamArn, nil
}

// attributeDefinitions declares every key attribute of the table and its
// indexes, once each, as a string.
func attributeDefinitions(s storage.Schema) []types.AttributeDefinition {
	names := map[string]bool{s.PK: true, s.SK: true}
	for _, k := range s.Indexes {
		names[k.PK], names[k.SK] = true, true
	}
	sorted := make([]string, 0, len(names))
	for name := range names {
		sorted = append(sorted, name)
	}
	sort.Strings(sorted)
	defs := make([]types.AttributeDefinition, len(sorted))
	for i, name := range sorted {
		defs[i] = types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	return defs
}

func keySchema(k storage.Key) []types.KeySchemaElement {
	return []types.KeySchemaElement{
		{AttributeName: aws.String(k.PK), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String(k.SK), KeyType: types.KeyTypeRange},
	}
}
