package runtimeapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
)

// sysProcAttr puts the function in its own process group and has the
// kernel kill it if the harness dies. Pdeathsig follows the OS thread that
// forked; the Go runtime only retires threads whose goroutine exits while
// locked to them, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// runningPeakRSS reads VmHWM, the high-water mark of the resident set. A
// zombie has none, and a reaped process no status: all are
// errProcessGone, including a process reaped between the open of its
// status and the read, which the kernel answers with ESRCH.
func runningPeakRSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return 0, errProcessGone
	}
	if err != nil {
		return 0, err
	}
	lines := bufio.NewScanner(bytes.NewReader(status))
	for lines.Scan() {
		value, ok := bytes.CutPrefix(lines.Bytes(), []byte("VmHWM:"))
		if !ok {
			continue
		}
		kib, ok := bytes.CutSuffix(bytes.TrimSpace(value), []byte(" kB"))
		if !ok {
			return 0, fmt.Errorf("VmHWM %q is not in kB", value)
		}
		n, err := strconv.ParseInt(string(kib), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM: %w", err)
		}
		return n * 1024, nil
	}
	return 0, errProcessGone
}

func exitedPeakRSS(state *os.ProcessState) (int64, error) {
	usage, ok := state.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, errors.New("runtimeapi: no rusage for the exited process")
	}
	return usage.Maxrss * 1024, nil // kilobytes on Linux
}
