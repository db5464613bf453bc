package runtimeapi

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Build compiles the main package in pkgDir to outDir/bootstrap with the
// deploy build's settings (CGO_ENABLED=0, -tags lambda.norpc, -trimpath,
// -ldflags "-s -w") and returns the binary's absolute path.
//
// It targets the host's GOOS/GOARCH, not the deployed linux/arm64: a
// linux/amd64 machine cannot exec an arm64 binary, and the harness needs to.
// The source, tags and flags are those that ship.
func Build(ctx context.Context, pkgDir, outDir string) (string, error) {
	bootstrap, err := filepath.Abs(filepath.Join(outDir, "bootstrap"))
	if err != nil {
		return "", fmt.Errorf("runtimeapi: build %s: %w", pkgDir, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build",
		"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w",
		"-o", bootstrap, ".")
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("runtimeapi: build %s: %w\n%s", pkgDir, err, output)
	}
	return bootstrap, nil
}
