package tableschema_test

import (
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"

	"github.com/integration-hub/hub/internal/tableschema"
	"github.com/integration-hub/hub/internal/template"
)

var update = flag.Bool("update", false, "rewrite schema.json from template.yaml")

func TestSchemaIsTheTemplatesTable(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		b, err := json.MarshalIndent(tm.Table.Schema, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("schema.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		// The binary embeds the file as it was when it was built.
		t.Skip("schema.json rewritten; run the test again to check it")
	}
	got, err := tableschema.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tm.Table.Schema) {
		t.Fatalf("schema.json is %+v but template.yaml declares %+v; run go test ./internal/tableschema -update", got, tm.Table.Schema)
	}
}
