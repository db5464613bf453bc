package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/email/sestest"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/localstack"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/storage/dynamo/dynamofeed"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/stream"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var fastHashing = passwords.Params{MemoryKiB: 64, Time: 1, Threads: 1}

var tokenInLink = regexp.MustCompile(`#token=([A-Za-z0-9_-]+)`)

func open(t *testing.T, cfg localstack.Config) *localstack.Stack {
	t.Helper()
	cfg.Hashing = fastHashing
	if cfg.LogOutput == nil {
		cfg.LogOutput = io.Discard
	}
	cfg.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	if cfg.Sender == "" {
		cfg.Sender = "hub@hub.test"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://hub.test"
	}
	st, err := localstack.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path, token string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func outboxFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// newestToken is the token of the newest email in the outbox folder that
// carries one (notifications carry none).
func newestToken(t *testing.T, dir string) string {
	t.Helper()
	files := outboxFiles(t, dir)
	for i := len(files) - 1; i >= 0; i-- {
		b, err := os.ReadFile(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if m := tokenInLink.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	t.Fatalf("no email with a token link among %d in the outbox", len(files))
	return ""
}

// The walk-through, as a user would do it with curl against `make run`.
func TestLocalStackSignInWalkThroughOnTheEmbeddedDefault(t *testing.T) {
	var functionLogs syncBuffer
	st := open(t, localstack.Config{DataDir: t.TempDir(), LogOutput: &functionLogs})
	ctx := context.Background()
	demo, err := st.EnsureDemo(ctx)
	if err != nil || !demo.Created {
		t.Fatalf("EnsureDemo = %+v, %v", demo, err)
	}
	if again, err := st.EnsureDemo(ctx); err != nil || again.Created {
		t.Fatalf("second EnsureDemo = %+v, %v; the demo must be made once", again, err)
	}
	if n := len(outboxFiles(t, st.OutboxDir)); n != 1 {
		t.Fatalf("%d emails in the outbox after creating the demo organization, want 1", n)
	}
	srv := httptest.NewServer(st.Gateway)
	defer srv.Close()
	c := client{t: t, base: srv.URL}
	pw := "correct horse battery"

	status, body := c.do("POST", "/auth/invitations/accept", "", map[string]string{"token": newestToken(t, st.OutboxDir), "name": "Ada", "password": pw})
	if status != 200 {
		t.Fatalf("accept: %d %v", status, body)
	}
	status, body = c.do("POST", "/auth/login", "", map[string]string{"email": localstack.DemoAdminEmail, "password": pw})
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	admin := body["token"].(string)
	status, body = c.do("POST", "/users", admin, map[string]string{"email": "grace@demo.example"})
	if status != 201 {
		t.Fatalf("invite: %d %v", status, body)
	}
	graceID := body["id"].(string)
	if err := st.Pump.Once(ctx); err != nil {
		t.Fatal(err)
	}
	status, _ = c.do("POST", "/auth/invitations/accept", "", map[string]string{"token": newestToken(t, st.OutboxDir), "name": "Grace", "password": "another good passphrase"})
	if status != 200 {
		t.Fatalf("grace accepts: %d", status)
	}
	_, body = c.do("POST", "/auth/login", "", map[string]string{"email": "grace@demo.example", "password": "another good passphrase"})
	grace := body["token"].(string)

	status, body = c.do("GET", "/users?sort=name", grace, nil)
	if status != 200 {
		t.Fatalf("list: %d %v", status, body)
	}
	list := body["users"].([]any)
	if len(list) != 2 {
		t.Fatalf("list has %d users, want 2", len(list))
	}
	for _, u := range list {
		u := u.(map[string]any)
		if u["role"] != "hub_user" || u["organization_id"] != localstack.DemoOrg {
			t.Fatalf("listed user lacks role or organization: %v", u)
		}
	}
	_, me := c.do("GET", "/auth/me", admin, nil)
	adminID := me["user"].(map[string]any)["id"].(string)
	status, body = c.do("DELETE", "/users/"+adminID, grace, nil)
	if status != 409 || body["code"] != "primary_administrator" {
		t.Fatalf("deleting the primary administrator: %d %v", status, body)
	}
	if status, _ = c.do("DELETE", "/users/"+graceID, admin, nil); status != 204 {
		t.Fatalf("delete grace: %d", status)
	}
	if status, body = c.do("GET", "/auth/me", grace, nil); status != 401 || body["code"] != "session_ended" {
		t.Fatalf("a deleted user's next request answered %d %v, want 401 session_ended", status, body)
	}
	if status, _ = c.do("GET", "/users", "", nil); status != 401 {
		t.Fatalf("no credential: %d, want 401", status)
	}

	logs := functionLogs.String()
	if !strings.Contains(logs, `"code":"primary_administrator"`) {
		t.Fatalf("the functions logged nothing the test can check:\n%s", logs)
	}
	for name, secret := range map[string]string{"a password": pw, "another password": "another good passphrase", "a session": admin, "a session ": grace} {
		if strings.Contains(logs, secret) {
			t.Errorf("the functions' logs reveal %s", name)
		}
	}
	for _, f := range outboxFiles(t, st.OutboxDir) {
		b, _ := os.ReadFile(f)
		if tok := tokenInLink.FindSubmatch(b); tok != nil && strings.Contains(logs, string(tok[1])) {
			t.Errorf("the functions' logs reveal an invitation token")
		}
	}
}

// syncBuffer collects log lines written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTheInvitationIsSentOnceWhenTheFeedDeliversItTwice(t *testing.T) {
	dir := t.TempDir()
	st := open(t, localstack.Config{DataDir: dir})
	ctx := context.Background()
	if _, err := st.EnsureDemo(ctx); err != nil {
		t.Fatal(err)
	}
	// Replay the whole feed from its start into the same notifier, as a
	// stream does when a batch is retried.
	db := st.Deps.Table.(*embedded.DB)
	tm, _ := template.Load()
	filter, _ := stream.ParseFilter(tm.Table.EventFilter)
	replay := &stream.Pump{Source: db.Feed(), Filter: filter, Handler: st.Deps.Notifier().Handle, Log: st.Pump.Log}
	for i := 0; i < 2; i++ {
		if err := replay.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(outboxFiles(t, st.OutboxDir)); n != 1 {
		t.Fatalf("%d emails after the feed was delivered three times, want 1", n)
	}
}

// In DynamoDB Local mode the invitation travels the real way: the table's
// stream, a poller, the notifier, and the SES emulator.
func TestOrganizationInvitationReachesTheSESEmulatorThroughTheStreamOnce(t *testing.T) {
	ddb := testenv.DynamoDBLocal(t)
	ses := testenv.SESLocal(t)
	table := "stack-" + strings.ToLower(ids.New())
	st := open(t, localstack.Config{DataDir: t.TempDir(), DynamoDBEndpoint: ddb, SESEndpoint: ses, Table: table})
	ctx := context.Background()
	if _, err := st.EnsureDemo(ctx); err != nil {
		t.Fatal(err)
	}
	sentToAdmin := func() int { return len(sestest.SentTo(t, ses, localstack.DemoAdminEmail)) }
	deadline := time.Now().Add(20 * time.Second)
	for sentToAdmin() == 0 && time.Now().Before(deadline) {
		if err := st.Pump.Once(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := sentToAdmin(); n != 1 {
		t.Fatalf("%d invitations in the SES emulator, want 1", n)
	}
	msg := sestest.SentTo(t, ses, localstack.DemoAdminEmail)[0]
	if !tokenInLink.MatchString(msg.Body.Text) {
		t.Fatalf("the invitation has no accept link: %q", msg.Body.Text)
	}

	// Deliver the same stream records again, from the stream's start.
	client, err := dynamo.NewClient(ctx, ddb)
	if err != nil {
		t.Fatal(err)
	}
	arn, err := dynamo.LatestStreamArn(ctx, client, table)
	if err != nil {
		t.Fatal(err)
	}
	streams, err := dynamofeed.NewClient(ctx, ddb)
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := template.Load()
	again := dynamofeed.NewSource(streams, arn, tm.Table.Schema, true)
	var records []events.DynamoDBEventRecord
	for time.Now().Before(deadline.Add(10*time.Second)) && len(records) == 0 {
		recs, err := again.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, recs...)
	}
	if len(records) == 0 {
		t.Fatal("the stream has no records to deliver again")
	}
	resp, err := st.Deps.Notifier().Handle(ctx, events.DynamoDBEvent{Records: records})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %+v, %v", resp, err)
	}
	if n := sentToAdmin(); n != 1 {
		t.Fatalf("%d invitations after the records were delivered twice, want 1", n)
	}
}
