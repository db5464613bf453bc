package app_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/web"
)

func routeDeps(t *testing.T) *app.Deps {
	keys, err := secrets.NewKeyring(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &app.Deps{Keys: keys}
}

func repoRoot(t *testing.T) string {
	p, err := template.Find()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(p)
}

func TestEveryTemplateFunctionHasItsPackageAndEveryPackageItsFunction(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	inTemplate := map[string]bool{}
	for _, fn := range tm.Functions {
		inTemplate[fn.Name] = true
		if _, err := os.Stat(filepath.Join(root, "functions", fn.Name, "main.go")); err != nil {
			t.Errorf("template function %s (%s) has no functions/%s/main.go", fn.LogicalID, fn.Name, fn.Name)
		}
	}
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && !inTemplate[d.Name()] {
			t.Errorf("functions/%s is not declared in template.yaml", d.Name())
		}
	}
}

func TestTemplateRoutesAreExactlyTheRoutesTheCodeServes(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	d := routeDeps(t)
	served := map[string]bool{}
	for _, fn := range tm.Functions {
		if len(fn.Routes) == 0 {
			if slices.Contains(app.HTTPFunctionNames(), fn.Name) {
				t.Errorf("HTTP function %s has no routes in template.yaml", fn.Name)
			}
			continue
		}
		rt, err := d.Router(fn.Name)
		if err != nil {
			t.Errorf("template routes %s, but the code has no HTTP function by that name", fn.Name)
			continue
		}
		served[fn.Name] = true
		var declared []web.Route
		for _, r := range fn.Routes {
			declared = append(declared, web.Route{Method: r.Method, Path: r.Path, Public: r.Public})
		}
		sort.Slice(declared, func(i, j int) bool { return declared[i].Key() < declared[j].Key() })
		code := rt.Routes()
		if len(code) != len(declared) {
			t.Errorf("%s: template declares %d routes, the code serves %d:\n template %v\n code     %v", fn.Name, len(declared), len(code), declared, code)
			continue
		}
		for i := range code {
			if code[i] != declared[i] {
				t.Errorf("%s: template %+v, code %+v", fn.Name, declared[i], code[i])
			}
		}
	}
	for _, name := range app.HTTPFunctionNames() {
		if !served[name] {
			t.Errorf("HTTP function %s serves routes that template.yaml does not declare", name)
		}
	}
}

func TestTemplateDeploysTheAuthorizerWithAShortCacheAndReadOnlyAccess(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	if tm.Authorizer != "AuthorizerFunction" {
		t.Fatalf("default authorizer = %q", tm.Authorizer)
	}
	if tm.AuthorizerCacheSeconds <= 0 || tm.AuthorizerCacheSeconds > 60 {
		t.Fatalf("authorizer cache %ds: revocation must take effect within 60s", tm.AuthorizerCacheSeconds)
	}
	for _, fn := range tm.Functions {
		if fn.LogicalID != tm.Authorizer {
			continue
		}
		for _, a := range fn.Actions {
			// One item per decision, and the key parameter once per
			// process (sessions and sealed secrets are keyed from it).
			if a != "dynamodb:GetItem" && a != "ssm:GetParameter" {
				t.Errorf("the authorizer is allowed %s; it only reads one item per decision and the key parameter", a)
			}
		}
	}
}

// Least privilege: every function gets explicit actions, never SAM's broad
// policy templates, and no function may Scan or write outside the storage
// port's operations.
func TestTemplateGrantsOnlyTheTableActionsTheStoragePortUses(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"dynamodb:GetItem": true, "dynamodb:BatchGetItem": true, "dynamodb:Query": true, "dynamodb:PutItem": true,
		"dynamodb:DeleteItem": true, "dynamodb:ConditionCheckItem": true,
		"ses:SendEmail": true, "ssm:GetParameter": true,
	}
	broad := map[string]bool{"DynamoDBCrudPolicy": true, "DynamoDBReadPolicy": true, "DynamoDBWritePolicy": true, "SESCrudPolicy": true, "AmazonDynamoDBFullAccess": true}
	for _, fn := range tm.Functions {
		for _, p := range fn.Policies {
			if broad[p] {
				t.Errorf("%s is granted %s; grant explicit actions instead", fn.LogicalID, p)
			}
		}
		for _, a := range fn.Actions {
			if !allowed[a] {
				t.Errorf("%s is allowed %s, which the hub never needs", fn.LogicalID, a)
			}
		}
		if len(fn.Actions) == 0 {
			t.Errorf("%s has no explicit table actions", fn.LogicalID)
		}
	}
}

// Every function reads the key parameter (HUB_KEY_PARAMETER, from the
// Globals) at its first use, so every function is allowed ssm:GetParameter
// and nothing else of SSM.
func TestTemplateLetsEveryFunctionReadTheKeyParameterOnly(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range tm.Functions {
		var ssm []string
		for _, a := range fn.Actions {
			if strings.HasPrefix(a, "ssm:") {
				ssm = append(ssm, a)
			}
		}
		if len(ssm) != 1 || ssm[0] != "ssm:GetParameter" {
			t.Errorf("%s is allowed %v of SSM; it needs ssm:GetParameter on the key parameter", fn.LogicalID, ssm)
		}
	}
}
