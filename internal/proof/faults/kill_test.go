package faults_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/localstack"
	"github.com/integration-hub/hub/internal/proof/prooftest"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/testenv"
)

var tokenInLink = regexp.MustCompile(`#token=([A-Za-z0-9_-]+)`)

// buildLocal compiles infra/local, the `make run` program.
func buildLocal(t *testing.T) string {
	t.Helper()
	tmpl, err := template.Find()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "local")
	cmd := exec.Command("go", "build", "-o", bin, "./infra/local")
	cmd.Dir = filepath.Dir(tmpl)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build infra/local: %v\n%s", err, out)
	}
	return bin
}

// acknowledged is a write the hub answered 2xx, and the item it made.
type acknowledged struct {
	what string
	key  storage.Key
}

// writer fires one kind of write at the demo organization and returns the
// key of the item the write made, read from the answer.
type writer struct {
	name  string
	write func(c *http.Client, base, session string) (storage.Key, bool)
}

func post(c *http.Client, base, session, path string, body any) (map[string]any, bool) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+session)
	resp, err := c.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var out map[string]any
	if json.NewDecoder(resp.Body).Decode(&out) != nil || resp.StatusCode >= 300 {
		return nil, false
	}
	return out, true
}

var writers = []writer{
	{"invite a user", func(c *http.Client, base, session string) (storage.Key, bool) {
		out, ok := post(c, base, session, "/users", map[string]string{"email": strings.ToLower(ids.New()) + "@demo.example"})
		id, _ := out["id"].(string)
		return keys.User(localstack.DemoOrg, id), ok
	}},
	{"create a partner with its first user", func(c *http.Client, base, session string) (storage.Key, bool) {
		out, ok := post(c, base, session, "/partners", map[string]any{"name": "Partner " + ids.New(), "mode": "create",
			"first_user": map[string]string{"email": strings.ToLower(ids.New()) + "@partner.example"}})
		id, _ := out["id"].(string)
		return keys.Partner(localstack.DemoOrg, id), ok
	}},
	{"create an API key", func(c *http.Client, base, session string) (storage.Key, bool) {
		out, ok := post(c, base, session, "/api-keys", map[string]any{"name": "kill", "scopes": []string{"tenants:read"}})
		id, _ := out["id"].(string)
		return keys.APIKey(localstack.DemoOrg, id), ok
	}},
	{"create an integration", func(c *http.Client, base, session string) (storage.Key, bool) {
		out, ok := post(c, base, session, "/integrations", map[string]any{"name": "Integration " + ids.New(), "published": true})
		id, _ := out["id"].(string)
		return keys.Integration(localstack.DemoOrg, id), ok
	}},
}

// TestALocalStackKilledMidWriteLeavesNoHalfWrittenState starts `make run`
// (infra/local, built) on the embedded table and on DynamoDB Local, has
// eight clients write to it (users, partners with their first user, API
// keys, integrations), kills it with SIGKILL while they do, and reads the
// table it left: every multi-item invariant holds and every write it
// acknowledged is there.
func TestALocalStackKilledMidWriteLeavesNoHalfWrittenState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs infra/local")
	}
	bin := buildLocal(t)
	backends := []struct {
		name string
		// env configures the table; items reads it after the kill.
		env   func(t *testing.T, dataDir string) []string
		items func(t *testing.T, dataDir string) []storage.Item
	}{
		{"embedded", func(*testing.T, string) []string { return []string{"HUB_DYNAMODB_ENDPOINT="} },
			func(t *testing.T, dataDir string) []storage.Item {
				tm, _ := template.Load()
				db, err := embedded.Open(filepath.Join(dataDir, "hub.db"), tm.Table.Schema)
				if err != nil {
					t.Fatalf("reopen the table the killed stack left: %v", err)
				}
				defer db.Close()
				items, err := db.Dump(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return items
			}},
		{"dynamodb-local", func(t *testing.T, _ string) []string {
			return []string{"HUB_DYNAMODB_ENDPOINT=" + testenv.DynamoDBLocal(t), "HUB_TABLE=kill-" + strings.ToLower(ids.New())}
		}, nil},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dataDir := prooftest.DataDir(t)
			env := b.env(t, dataDir)
			port, err := testenv.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			base := "http://127.0.0.1:" + port
			cmd := exec.Command(bin)
			cmd.Dir = dataDir
			cmd.Env = append(os.Environ(), append([]string{"HUB_ADDR=127.0.0.1:" + port, "HUB_DATA_DIR=" + dataDir, "HUB_SES_ENDPOINT="}, env...)...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			killed := false
			defer func() {
				if !killed {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			}()
			waitForBanner(t, stderr)

			session := signInDemoAdmin(t, base, dataDir)
			client := &http.Client{Timeout: 10 * time.Second}
			var (
				mu       sync.Mutex
				acked    []acknowledged
				refusals int
				wg       sync.WaitGroup
				inflight atomic.Int64
			)
			const killAfter = 40
			enough := make(chan struct{})
			var once sync.Once
			for i := range 8 {
				w := writers[i%len(writers)]
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						inflight.Add(1)
						key, ok := w.write(client, base, session)
						inflight.Add(-1)
						if !ok {
							select {
							case <-enough:
								return // killed
							default:
							}
							mu.Lock()
							if refusals++; refusals == 100 {
								t.Errorf("100 writes refused before the kill")
								once.Do(func() { close(enough) })
							}
							mu.Unlock()
							continue
						}
						mu.Lock()
						acked = append(acked, acknowledged{w.name, key})
						if len(acked) >= killAfter {
							once.Do(func() { close(enough) })
						}
						mu.Unlock()
					}
				}()
			}
			<-enough
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			during := inflight.Load()
			_ = cmd.Wait()
			killed = true
			wg.Wait()

			var items []storage.Item
			if b.items != nil {
				items = b.items(t, dataDir)
			} else {
				items = scanDynamo(t, env)
			}
			t.Logf("killed after %d acknowledged writes, with %d in flight; the table holds %d items", len(acked), during, len(items))
			if broken := prooftest.Invariants(items, time.Now()); len(broken) > 0 {
				t.Errorf("the killed stack left half-applied writes:\n%s", strings.Join(broken, "\n"))
			}
			present := map[storage.Key]bool{}
			for _, it := range items {
				present[it.Key] = true
			}
			for _, a := range acked {
				if !present[a.key] {
					t.Errorf("acknowledged %q (%s) is not in the table", a.what, a.key)
				}
			}
		})
	}
}

// waitForBanner reads the stack's log until it says how to sign in, which
// it prints once it serves and the demo organization exists.
func waitForBanner(t *testing.T, stderr io.Reader) {
	t.Helper()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "/auth/login") {
				close(ready)
				signalled = true
			}
		}
		if !signalled {
			close(ready)
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the local stack did not start within a minute")
	}
}

// signInDemoAdmin accepts the demo administrator's invitation, read from
// the outbox folder, and returns the session. The stack's stream pump
// writes the email; on DynamoDB Local the stream may deliver it only at a
// later poll than the first, so the folder is read until it is there.
func signInDemoAdmin(t *testing.T, base, dataDir string) string {
	t.Helper()
	var token string
	var files []string
	for poll := 0; poll < 200 && token == ""; poll++ {
		if poll > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		files, _ = filepath.Glob(filepath.Join(dataDir, "outbox", "*.eml"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if m := tokenInLink.FindSubmatch(b); m != nil {
				token = string(m[1])
			}
		}
	}
	if token == "" {
		t.Fatalf("no invitation in %s/outbox (%d files)", dataDir, len(files))
	}
	body := fmt.Sprintf(`{"token":%q,"name":"Demo Admin","password":%q}`, token, prooftest.Password)
	resp, err := http.Post(base+"/auth/invitations/accept", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sess struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&sess); err != nil || sess.Token == "" {
		t.Fatalf("accept the demo invitation: %d %v", resp.StatusCode, err)
	}
	return sess.Token
}

func scanDynamo(t *testing.T, env []string) []storage.Item {
	t.Helper()
	var endpoint, table string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "HUB_DYNAMODB_ENDPOINT="); ok {
			endpoint = v
		}
		if v, ok := strings.CutPrefix(kv, "HUB_TABLE="); ok {
			table = v
		}
	}
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	client, err := dynamo.NewClient(context.Background(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	items, err := prooftest.ScanItems(context.Background(), client, table, tm.Table.Schema)
	if err != nil {
		t.Fatal(err)
	}
	return items
}
