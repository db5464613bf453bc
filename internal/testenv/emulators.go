// Package testenv gives tests the real dependencies they run against,
// DynamoDB Local and the SES emulator (see internal/emulators), each started
// once per test binary and stopped by Main when the tests end.
//
// Outside CI a missing emulator skips the tests that need it; with CI=true it
// fails them, so a missing install step can never pass as green.
package testenv

import (
	"os"
	"sync"
	"testing"

	"github.com/integration-hub/hub/internal/emulators"
)

// Main runs the tests of a package and then stops every emulator they
// started. Use it as the package's TestMain.
func Main(m *testing.M) {
	code := m.Run()
	StopAll()
	os.Exit(code)
}

var (
	mu      sync.Mutex
	running = map[string]*emulators.Emulator{}
	failed  = map[string]error{}
)

// StopAll stops every emulator this process started.
func StopAll() {
	mu.Lock()
	defer mu.Unlock()
	for name, e := range running {
		e.Stop()
		delete(running, name)
	}
}

// DynamoDBLocal returns the endpoint of a DynamoDB Local shared by the test
// binary, starting it on first use.
func DynamoDBLocal(t testing.TB) string {
	t.Helper()
	return need(t, "dynamodb-local", emulators.StartDynamoDBLocal)
}

// SESLocal returns the endpoint of the SES emulator shared by the test
// binary, starting it on first use. Its inbox is at GET /store.
func SESLocal(t testing.TB) string {
	t.Helper()
	return need(t, "ses-local", emulators.StartSES)
}

func need(t testing.TB, name string, start func() (*emulators.Emulator, error)) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if e, ok := running[name]; ok {
		return e.Endpoint
	}
	err, tried := failed[name]
	if !tried {
		var e *emulators.Emulator
		if e, err = start(); err == nil {
			running[name] = e
			return e.Endpoint
		}
		failed[name] = err
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI: %v", name, err)
	}
	t.Skipf("%s unavailable (run `make test` to install it): %v", name, err)
	return ""
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (string, error) { return emulators.FreePort() }
