package emulators

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestListensOnTellsTheOwnerOfAPortFromAnyOtherProcess(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc on this machine")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	if !listensOn(os.Getpid(), port) {
		t.Fatalf("this process listens on %s but listensOn says it does not", port)
	}
	if listensOn(os.Getppid(), port) {
		t.Fatalf("the parent process was taken for the owner of %s", port)
	}
}

func TestAnEmulatorThatEndsBeforeAnsweringIsRetriedThenReported(t *testing.T) {
	var ports []string
	_, err := startOnFreePort("ends-at-once", func(port string) (string, []string) {
		ports = append(ports, port)
		return "/bin/sh", []string{"-c", "echo address already in use; exit 1"}
	}, func(string) bool { return false })
	if !errors.Is(err, errPortLost) {
		t.Fatalf("want errPortLost after the retries, got %v", err)
	}
	if len(ports) != 5 {
		t.Fatalf("want 5 attempts on fresh ports, got %d (%v)", len(ports), ports)
	}
	if !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("the report should carry the emulator's own output: %v", err)
	}
}

func TestAnotherServerOnThePortIsNotTakenForDynamoDBLocal(t *testing.T) {
	// What CI once met: a test server of another package answered on the
	// port DynamoDB Local had been given, and any HTTP answer counted as
	// ready.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	if isDynamoDBLocal(other.URL) {
		t.Fatal("a server answering 404 was taken for DynamoDB Local")
	}
}
