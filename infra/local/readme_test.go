package main_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/template"
)

// The README's curl walkthroughs are the issues' "with only curl"
// proofs: every shell block of its walkthrough section, run in order
// under `set -euo pipefail` against a freshly started `make run`, must
// get every status its expect lines name.
func TestTheREADMEWalkthroughsRunAgainstMakeRun(t *testing.T) {
	var missing []string
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := "the README walkthrough needs " + strings.Join(missing, ", ") + "; `make test` installs them"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	script := walkthrough(t)
	l := startLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+l.addr+"/auth/me", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("make run never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+script)
	cmd.Dir = l.data
	cmd.Env = append(os.Environ(), "HUB=http://"+l.addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough stopped: %v\n%s", err, out)
	}
	for _, want := range []string{`"code":"session_ended"`, `"code":"invalid_credential"`, `"trigger_id"`, `"role":"hub_user"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walkthrough's output lacks %s:\n%s", want, out)
		}
	}
}

// walkthrough is the shell blocks of the README's walkthrough section.
func walkthrough(t *testing.T) string {
	t.Helper()
	tm, err := template.Find()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(tm), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const heading = "### Walk through the hub with curl"
	_, section, ok := strings.Cut(string(readme), heading)
	if !ok {
		t.Fatalf("README.md has no %q section", heading)
	}
	// The section ends at the next heading; comment lines in the shell
	// blocks start with "#" too, but never with "## ".
	for _, next := range []string{"\n## ", "\n### "} {
		if end := strings.Index(section, next); end >= 0 {
			section = section[:end]
		}
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(section, "```sh\n")
		if !ok {
			break
		}
		block, after, ok := strings.Cut(rest, "```")
		if !ok {
			t.Fatal("an unclosed shell block in the walkthrough")
		}
		blocks, section = append(blocks, block), after
	}
	script := strings.Join(blocks, "\n")
	if len(blocks) < 3 || strings.Count(script, "\nexpect ") < 10 {
		t.Fatalf("the walkthrough section has %d shell blocks and %d expect lines; the parse lost them", len(blocks), strings.Count(script, "\nexpect "))
	}
	return script
}
