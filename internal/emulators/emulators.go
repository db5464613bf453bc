// Package emulators starts AWS's DynamoDB Local (from the
// amplify-dynamodb-simulator npm package, on the machine's Java) and the
// aws-ses-v2-local SES endpoint, as installed under infra/emulators by
// `make emulators`, each on a free loopback port. The tests (through
// internal/testenv) and `make run-emulated` use them.
package emulators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/integration-hub/hub/internal/template"
)

// Emulator is one running emulator process.
type Emulator struct {
	Endpoint string // http://127.0.0.1:port
	cmd      *exec.Cmd
	log      *os.File
}

// Stop kills the emulator's process group and removes its log.
func (e *Emulator) Stop() {
	if e.cmd.Process != nil {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		_ = e.cmd.Wait()
	}
	if e.log != nil {
		_ = e.log.Close()
		_ = os.Remove(e.log.Name())
	}
}

// EmulatorsDir is infra/emulators, where `make test` installs the packages.
func EmulatorsDir() (string, error) {
	p, err := template.Find()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(p), "infra", "emulators"), nil
}

// DynamoDBLocalJar is the jar the npm package ships, and its native
// libraries folder.
func DynamoDBLocalJar() (jar, libDir string, err error) {
	dir, err := EmulatorsDir()
	if err != nil {
		return "", "", err
	}
	base := filepath.Join(dir, "node_modules", "amplify-dynamodb-simulator", "emulator")
	jar = filepath.Join(base, "DynamoDBLocal.jar")
	if _, err := os.Stat(jar); err != nil {
		return "", "", fmt.Errorf("DynamoDB Local is not installed: %w", err)
	}
	return jar, filepath.Join(base, "DynamoDBLocal_lib"), nil
}

// SESLocalCLI is the SES emulator's entry point.
func SESLocalCLI() (string, error) {
	dir, err := EmulatorsDir()
	if err != nil {
		return "", err
	}
	cli := filepath.Join(dir, "node_modules", "aws-ses-v2-local", "dist", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return "", fmt.Errorf("the SES emulator is not installed: %w", err)
	}
	return cli, nil
}

// StartDynamoDBLocal starts an in-memory DynamoDB Local and waits until it
// answers.
func StartDynamoDBLocal() (*Emulator, error) {
	jar, lib, err := DynamoDBLocalJar()
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("java is not on PATH (DynamoDB Local needs Java 17)")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	e, err := launch("dynamodb-local", java,
		"-Xmx512m", "-Djava.library.path="+lib, "-jar", jar,
		"-inMemory", "-disableTelemetry", "-port", port)
	if err != nil {
		return nil, err
	}
	e.Endpoint = "http://127.0.0.1:" + port
	return e, waitReady(e, func() bool {
		// Any HTTP answer means the server is up; DynamoDB Local answers a
		// bare GET with 400.
		resp, err := http.Get(e.Endpoint)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
}

// StartSES starts the SES emulator and waits until it answers; its inbox
// is at GET <Endpoint>/store.
func StartSES() (*Emulator, error) {
	cli, err := SESLocalCLI()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not on PATH (the SES emulator needs it)")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	e, err := launch("ses-local", node, cli, "--host", "127.0.0.1", "--port", port)
	if err != nil {
		return nil, err
	}
	e.Endpoint = "http://127.0.0.1:" + port
	return e, waitReady(e, func() bool {
		resp, err := http.Get(e.Endpoint + "/health-check")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// launch starts a process in its own process group, killed with the test
// binary if that dies first.
func launch(name, bin string, args ...string) (*Emulator, error) {
	log, err := os.CreateTemp("", name+"-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// DynamoDB Local writes a metadata file into its working directory.
	cmd.Dir = os.TempDir()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return &Emulator{cmd: cmd, log: log}, nil
}

func waitReady(e *Emulator, ready func() bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if ready() {
			return nil
		}
		select {
		case <-ctx.Done():
			out, _ := os.ReadFile(e.log.Name())
			e.Stop()
			return fmt.Errorf("%s not ready after 60s: %s", e.Endpoint, strings.TrimSpace(string(out)))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}
