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
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	exited   chan struct{} // closed when the process has ended
}

// Stop kills the emulator's process group and removes its log.
func (e *Emulator) Stop() {
	if e.cmd.Process != nil {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.exited
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
	return startOnFreePort("dynamodb-local", func(port string) (string, []string) {
		return java, []string{"-Xmx512m", "-Djava.library.path=" + lib, "-jar", jar,
			"-inMemory", "-disableTelemetry", "-port", port}
	}, isDynamoDBLocal)
}

// isDynamoDBLocal reports whether endpoint answers as DynamoDB does: an
// unsigned request is refused with a DynamoDB error type, not any HTTP
// answer (another test's server may hold a port for a moment).
func isDynamoDBLocal(endpoint string) bool {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader("{}"))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return strings.Contains(string(body), "__type") || strings.Contains(string(body), "TableNames")
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
	return startOnFreePort("ses-local", func(port string) (string, []string) {
		return node, []string{cli, "--host", "127.0.0.1", "--port", port}
	}, func(endpoint string) bool {
		resp, err := http.Get(endpoint + "/health-check")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// errPortLost means the emulator ended before it answered, as it does when
// another process took its port between FreePort and its bind.
var errPortLost = errors.New("the emulator ended before it answered")

// startOnFreePort launches an emulator on a free port and waits until the
// process itself listens there and answers as it should; a port lost to
// another process is retried on a fresh one.
func startOnFreePort(name string, command func(port string) (string, []string), answers func(endpoint string) bool) (*Emulator, error) {
	var last error
	for range 5 {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		bin, args := command(port)
		e, err := launch(name, bin, args...)
		if err != nil {
			return nil, err
		}
		e.Endpoint = "http://127.0.0.1:" + port
		err = waitReady(e, func() bool {
			return listensOn(e.cmd.Process.Pid, port) && answers(e.Endpoint)
		})
		if err == nil {
			return e, nil
		}
		last = err
		if !errors.Is(err, errPortLost) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("start %s: %w", name, last)
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
	e := &Emulator{cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(e.exited)
	}()
	return e, nil
}

func waitReady(e *Emulator, ready func() bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if ready() {
			return nil
		}
		select {
		case <-e.exited:
			out, _ := os.ReadFile(e.log.Name())
			e.Stop()
			return fmt.Errorf("%s: %w: %s", e.Endpoint, errPortLost, strings.TrimSpace(string(out)))
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

// listensOn reports whether process pid holds the socket listening on TCP
// port, so a readiness probe answered by some other process on that port is
// never taken for the emulator. Where /proc cannot be read it trusts the
// probe alone.
func listensOn(pid int, port string) bool {
	p, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	inodes := map[string]bool{}
	readable := false
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		readable = true
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st ... inode is field 9.
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			i := strings.LastIndexByte(f[1], ':')
			if local, err := strconv.ParseInt(f[1][i+1:], 16, 32); err == nil && int(local) == p {
				inodes[f[9]] = true
			}
		}
	}
	if !readable {
		return true
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			return true
		}
	}
	return false
}
