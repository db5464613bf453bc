package main_test

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/testenv"
)

// `make run` on a fresh data folder: the built program starts, creates the
// demo organization, says how to sign in, and answers HTTP the way API
// Gateway would (401 without a credential, a problem document from a
// function). The time from exec to the first answer is logged; the
// benchmarks, not this test, judge speed.
func TestMakeRunAnswersHTTPOnTheEmbeddedDefault(t *testing.T) {
	l := startLocal(t)
	addr, data, start, banner := l.addr, l.data, l.start, l.banner
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var resp *http.Response
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/users", nil)
		if resp, err = http.DefaultClient.Do(req); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp == nil {
		t.Fatalf("no HTTP answer: %v", err)
	}
	resp.Body.Close()
	t.Logf("first HTTP answer %v after exec", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /users without a credential: %d, want 401", resp.StatusCode)
	}
	select {
	case text := <-banner:
		if !strings.Contains(text, "admin@demo.example") || !strings.Contains(text, "/auth/invitations/accept") {
			t.Fatalf("the console does not say how to sign in:\n%s", text)
		}
	case <-ctx.Done():
		t.Fatal("no sign-in instructions on the console")
	}
	invitations, _ := filepath.Glob(filepath.Join(data, ".data", "outbox", "*.eml"))
	if len(invitations) != 1 {
		t.Fatalf("%d emails in the outbox, want the demo administrator's invitation", len(invitations))
	}
	resp, err = http.Post("http://"+addr+"/auth/login", "application/json", strings.NewReader(`{"email":"admin@demo.example","password":"not yet set"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("login before accepting: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// local is the program `make run` runs, started on a free port with its
// data folder in a temporary directory.
type local struct {
	addr, data string
	start      time.Time
	banner     chan string // the console up to its sign-in instructions
}

func startLocal(t *testing.T) local {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "local")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l := local{addr: "127.0.0.1:" + port, data: t.TempDir(), banner: make(chan string, 1)}
	cmd := exec.Command(bin)
	cmd.Dir = l.data
	cmd.Env = append(os.Environ(), "HUB_ADDR="+l.addr, "HUB_DATA_DIR="+filepath.Join(l.data, ".data"), "HUB_DYNAMODB_ENDPOINT=", "HUB_SES_ENDPOINT=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	l.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	go func() {
		var sb strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			sb.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "/auth/login") {
				select {
				case l.banner <- sb.String():
				default:
				}
			}
		}
	}()
	return l
}
