package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/runtimeapi"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The `make invoke` path: the real compiled bootstrap, started under the
// local Runtime API with the environment template.yaml gives it (pointed at
// DynamoDB Local), fed with files from events/.
func TestCompiledBootstrapsAnswerEventFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds function binaries")
	}
	endpoint := testenv.DynamoDBLocal(t)
	ctx := context.Background()
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	client, err := dynamo.NewClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	table := "invoke-" + strings.ToLower(ids.New())
	if err := dynamo.CreateTable(ctx, client, table, tm.Table.Schema, tm.Table.StreamView); err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	env := []string{
		"HUB_TABLE=" + table,
		"HUB_DYNAMODB_ENDPOINT=" + endpoint,
		"HUB_KEY_FILE=" + filepath.Join(t.TempDir(), "master.key"),
		"HUB_PUBLIC_BASE_URL=https://hub.test",
	}
	cases := []struct {
		function, event string
		check           func(t *testing.T, payload []byte, fnErr *runtimeapi.FunctionError)
	}{
		{"operator", "operator/create-organization.json", func(t *testing.T, payload []byte, fnErr *runtimeapi.FunctionError) {
			var out struct {
				Organization struct{ ID, Name, Plan string } `json:"organization"`
				AdminID      string                          `json:"admin_id"`
			}
			if fnErr != nil || json.Unmarshal(payload, &out) != nil || out.Organization.Name != "Acme Analytics" || out.Organization.Plan != "lite" || out.AdminID == "" {
				t.Fatalf("operator answered %s, %v", payload, fnErr)
			}
		}},
		{"operator", "operator/unknown-action.json", func(t *testing.T, payload []byte, fnErr *runtimeapi.FunctionError) {
			if fnErr == nil || !strings.Contains(fnErr.Message, "unknown action") {
				t.Fatalf("an unknown action answered %s, %v", payload, fnErr)
			}
		}},
		{"authorizer", "authorizer/basic-credentials.json", func(t *testing.T, payload []byte, fnErr *runtimeapi.FunctionError) {
			if fnErr != nil || !bytes.Contains(payload, []byte(`"isAuthorized":true,"context":{"refused":"invalid"}`)) {
				t.Fatalf("authorizer answered %s, %v", payload, fnErr)
			}
		}},
		{"auth", "auth/login-unknown-email.json", func(t *testing.T, payload []byte, fnErr *runtimeapi.FunctionError) {
			if fnErr != nil || !bytes.Contains(payload, []byte(`"statusCode":401`)) || !bytes.Contains(payload, []byte(`invalid_credentials`)) {
				t.Fatalf("auth answered %s, %v", payload, fnErr)
			}
		}},
	}
	binDir := t.TempDir()
	built := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.function+"/"+tc.event, func(t *testing.T) {
			bin, ok := built[tc.function]
			if !ok {
				var err error
				bin, err = runtimeapi.Build(ctx, filepath.Join(root, "functions", tc.function), filepath.Join(binDir, tc.function))
				if err != nil {
					t.Fatal(err)
				}
				built[tc.function] = bin
			}
			event, err := os.ReadFile(filepath.Join(root, "events", tc.event))
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			fn, err := runtimeapi.Start(ctx, bin, env, runtimeapi.WithFunctionName(tc.function), runtimeapi.WithLogs(&logs))
			if err != nil {
				t.Fatalf("start: %v\n%s", err, logs.String())
			}
			defer fn.Stop()
			res, err := fn.Invoke(ctx, event)
			if err != nil {
				t.Fatalf("invoke: %v\n%s", err, logs.String())
			}
			tc.check(t, res.Payload, res.Error)
		})
	}
}
