package app_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/template"
)

// No handler builds AWS clients per request: every call that builds a
// client (the SDK's constructors and the hub's wrappers of them) sits in a
// function that runs once, at init, and each function's main builds its
// dependencies once, outside its handler.
func TestAWSClientsAreBuiltOnlyAtInit(t *testing.T) {
	tm, err := template.Find()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(tm)
	builders := map[string]bool{ // package.Function
		"dynamodb.NewFromConfig": true, "dynamodb.New": true,
		"dynamodbstreams.NewFromConfig": true, "dynamodbstreams.New": true,
		"ses.NewFromConfig": true, "ses.New": true,
		"dynamo.NewClient": true, "dynamofeed.NewClient": true, "sesmail.NewClient": true,
		"app.FromEnv": true, "app.MustFromEnv": true,
	}
	// Where a builder may be called: file (from the root) and enclosing
	// function, each of which runs once.
	allowed := map[string]bool{
		"internal/storage/dynamo/client.go NewClient":          true, // the wrapper itself
		"internal/storage/dynamo/dynamofeed/feed.go NewClient": true,
		"internal/email/sesmail/sesmail.go NewClient":          true,
		"internal/app/lambda.go FromEnv":                       true, // a function's dependencies, at init
		"internal/app/lambda.go MustFromEnv":                   true,
		"internal/app/appses/appses.go WithSES":                true, // an option of FromEnv
		"internal/localstack/localstack.go Open":               true, // the local stack, at start
		"internal/localstack/localstack.go openDynamoDB":       true,
		"infra/invoke/main.go localDefaults":                   true, // make invoke's table, before the run
	}
	found := 0
	fset := token.NewFileSet()
	for _, dir := range []string{"functions", "internal", "infra"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() {
				// Test support builds clients per test, not per request.
				if d.Name() == "node_modules" || d.Name() == "testdata" || rel == "internal/proof" || rel == "internal/testenv" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					pkg, ok := sel.X.(*ast.Ident)
					if !ok || !builders[pkg.Name+"."+sel.Sel.Name] {
						return true
					}
					found++
					where := filepath.ToSlash(rel) + " " + fn.Name.Name
					if strings.HasPrefix(where, "functions/") && strings.HasSuffix(where, "/main.go main") {
						// A function's main: built once, before lambda.Start.
						return true
					}
					if !allowed[where] {
						t.Errorf("%s builds an AWS client (%s.%s) outside init", fset.Position(call.Pos()), pkg.Name, sel.Sel.Name)
					}
					return true
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if found < 15 {
		t.Fatalf("found %d client builders; the walk lost them", found)
	}
}
