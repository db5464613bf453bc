package bench_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/template"
)

// slowInitPackages are packages whose initialisation alone would cost a
// function's cold start its goal. The DynamoDB client's schemas package
// (schema-based serialisation, from dynamodb v1.69.0 on) builds every
// shape of the API at init: 0.6 ms and 3,151 allocations in every
// function, a quarter of a minimal Lambda's start. go.mod pins the last
// release without it; README, Performance, says why and when to revisit.
var slowInitPackages = []string{
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas",
}

// TestNoFunctionLinksASlowInitPackage fails when an upgrade brings a
// package of slowInitPackages into a function, so the cold start it costs
// is a decision made on purpose and not a side effect of go get -u.
func TestNoFunctionLinksASlowInitPackage(t *testing.T) {
	tmpl, err := template.Find()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "-tags", "lambda.norpc", "./functions/...")
	cmd.Dir = filepath.Dir(tmpl)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	linked := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		linked[p] = true
	}
	if !linked["github.com/aws/aws-sdk-go-v2/service/dynamodb"] {
		t.Fatal("go list found no function linking the DynamoDB client: the check would prove nothing")
	}
	for _, p := range slowInitPackages {
		if linked[p] {
			t.Errorf("a function links %s, whose init costs every cold start its goal (see README, Performance)", p)
		}
	}
}
