package template_test

import (
	"testing"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/template"
)

func TestLoadReadsTheTableSchemaFromTemplateYAML(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := tm.Table.Schema
	if s.PK != "PK" || s.SK != "SK" || s.TTL != "ttl" {
		t.Fatalf("schema = %+v", s)
	}
	if got := s.Indexes["GSI1"]; got != (storage.Key{PK: "GSI1PK", SK: "GSI1SK"}) {
		t.Fatalf("GSI1 = %+v", got)
	}
	if tm.Table.StreamView != "NEW_IMAGE" {
		t.Fatalf("stream view = %q, the notifier needs new images", tm.Table.StreamView)
	}
	if tm.Table.EventFilter == "" {
		t.Fatal("the notifier's stream trigger has no event filter")
	}
}

func TestParseRejectsTemplatesTheHubCannotUse(t *testing.T) {
	cases := map[string]string{
		"no table": "Resources: {}\n",
		"keys-only index projection": `Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: PK, KeyType: HASH}, {AttributeName: SK, KeyType: RANGE}]
      GlobalSecondaryIndexes:
        - IndexName: G
          KeySchema: [{AttributeName: A, KeyType: HASH}, {AttributeName: B, KeyType: RANGE}]
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}
`,
		"function outside functions/": `Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: PK, KeyType: HASH}, {AttributeName: SK, KeyType: RANGE}]
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}
  F:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/f}
`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := template.Parse([]byte(doc)); err == nil {
				t.Fatal("parsed without error")
			}
		})
	}
}
