package sourcecontrol_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/web"
)

// TestEventFilesRoundTripAndReachTheirRoute decodes each file under
// events/source-control/ as the Lambda runtime would, checks that nothing
// is lost on the way back to JSON, and runs it through the area's handler.
func TestEventFilesRoundTripAndReachTheirRoute(t *testing.T) {
	tp, err := template.Find()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(tp), "events", "source-control")
	cases := map[string]struct {
		status  int
		code    string // problem code, or the callback's ?error=
		landing bool
	}{
		"get-status.json":                    {status: 200},
		"get-status-partner.json":            {status: 200},
		"connect-github.json":                {status: 200},
		"connect-unconfigured-provider.json": {status: 400, code: "provider_not_configured"},
		"connect-pending-partner.json":       {status: 403, code: "partner_form_pending"},
		"callback.json":                      {status: 303, code: "invalid_state", landing: true},
		"callback-access-denied.json":        {status: 303, code: "invalid_state", landing: true},
		"disconnect.json":                    {status: 404, code: "not_connected"},
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Fatalf("%d event files in %s, %d expected", len(files), dir, len(cases))
	}
	f := newFixture(t)
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			want, ok := cases[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ev); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var inFile, reencoded any
			_ = json.Unmarshal(raw, &inFile)
			_ = json.Unmarshal(again, &reencoded)
			if path, ok := contains(reencoded, inFile, "$"); !ok {
				t.Fatalf("%s is lost or changed on a round trip through events.APIGatewayV2HTTPRequest", path)
			}
			out, err := httpadapter.NewV2(f.router).ProxyWithContext(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			code := ""
			if want.landing {
				loc, err := url.Parse(out.Headers["Location"])
				if err != nil {
					t.Fatal(err)
				}
				code = loc.Query().Get("error")
			} else {
				var p web.Problem
				_ = json.Unmarshal([]byte(out.Body), &p)
				code = p.Code
			}
			if out.StatusCode != want.status || code != want.code {
				t.Fatalf("%d %q (%s), want %d %q", out.StatusCode, code, out.Body, want.status, want.code)
			}
		})
	}
}

// contains reports whether every member of want is in got with the same
// value (the library adds empty members of its own, such as
// requestContext.authentication), and otherwise where they differ.
func contains(got, want any, path string) (string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, false
		}
		for k, wv := range w {
			if p, ok := contains(g[k], wv, path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path, false
		}
		for i := range w {
			if p, ok := contains(g[i], w[i], path+"["+strconv.Itoa(i)+"]"); !ok {
				return p, false
			}
		}
		return "", true
	}
	return path, reflect.DeepEqual(got, want)
}
