//go:build !linux

package runtimeapi

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr puts the function in its own process group. Only Linux can
// also have it killed when the harness dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func runningPeakRSS(int) (int64, error) {
	return 0, errors.New("peak RSS of a running process needs Linux's /proc")
}

func exitedPeakRSS(state *os.ProcessState) (int64, error) {
	usage, ok := state.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, errors.New("runtimeapi: no rusage for the exited process")
	}
	return usage.Maxrss, nil // bytes on Darwin
}
