package testenv

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/template"
)

// EmbeddedTable is a fresh embedded table with the template's schema, in
// the test's temporary folder.
func EmbeddedTable(t testing.TB) *embedded.DB {
	t.Helper()
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	db, err := embedded.Open(filepath.Join(t.TempDir(), "hub.db"), tm.Table.Schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// DynamoDBTable is a fresh table on the test binary's DynamoDB Local,
// created from the template (so the package's TestMain must be Main).
func DynamoDBTable(t testing.TB) storage.Table {
	t.Helper()
	endpoint := DynamoDBLocal(t)
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client, err := dynamo.NewClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	name := "test-" + strings.ToLower(ids.New())
	if err := dynamo.CreateTable(ctx, client, name, tm.Table.Schema, tm.Table.StreamView); err != nil {
		t.Fatal(err)
	}
	return dynamo.New(client, name, tm.Table.Schema)
}
