package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtureFunctions holds runtimeapi's echo function, which answers with its
// event, fails on {"fail":true} and describes its environment on
// {"context":true}.
const fixtureFunctions = "../../internal/runtimeapi/testdata"

func TestRun(t *testing.T) {
	eventFile := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(eventFile, []byte(`{"hello":"world"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	buildDir := t.TempDir()
	tests := []struct {
		name       string
		args       []string
		stdin      string
		environ    []string
		wantCode   int
		wantStdout string
		wantInOut  []string
		notInOut   []string
		wantInErr  []string
	}{
		{
			name:       "event file",
			args:       []string{"-fn", "echo", "-event", eventFile},
			wantStdout: "{\n  \"hello\": \"world\"\n}\n",
			wantInErr:  []string{"echo: handling ", "REPORT RequestId: "},
		},
		{
			name:       "event on standard input",
			args:       []string{"-fn", "echo", "-event", "-"},
			stdin:      `{"from": "stdin"}`,
			wantStdout: "{\n  \"from\": \"stdin\"\n}\n",
		},
		{
			name:       "no event sends an empty object",
			args:       []string{"-fn", "echo"},
			wantStdout: "{}\n",
		},
		{
			name:      "function error",
			args:      []string{"-fn", "echo", "-event", "-"},
			stdin:     `{"fail":true}`,
			wantCode:  exitFailed,
			wantInOut: []string{`"errorMessage": "failing as asked"`, `"errorType": "errorString"`},
			wantInErr: []string{`{"errorMessage":"failing as asked","errorType":"errorString"}`},
		},
		{
			name:      "HUB and AWS variables reach the function, others do not",
			args:      []string{"-fn", "echo", "-event", "-"},
			stdin:     `{"context":true}`,
			environ:   []string{"HUB_TABLE=hub-local", "AWS_REGION=eu-central-1", "HOME=/home/dev"},
			wantInOut: []string{`"HUB_TABLE=hub-local"`, `"AWS_REGION=eu-central-1"`, `"invokedFunctionArn": "arn:aws:lambda:eu-central-1:123456789012:function:echo"`},
			notInOut:  []string{"HOME="},
		},
		{
			name:      "event that is not JSON",
			args:      []string{"-fn", "echo", "-event", "-"},
			stdin:     `hello`,
			wantCode:  exitFailed,
			wantInErr: []string{"not JSON"},
		},
		{name: "no -fn", args: []string{}, wantCode: exitUsage, wantInErr: []string{"-fn is required: one of echo"}},
		{name: "unknown function", args: []string{"-fn", "nope"}, wantCode: exitUsage, wantInErr: []string{`no function "nope"`, "one of echo"}},
		{name: "path as function", args: []string{"-fn", "../testdata"}, wantCode: exitUsage, wantInErr: []string{"not a folder name"}},
		{name: "stray argument", args: []string{"-fn", "echo", "extra"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, hostSetup{
				environ:      tt.environ,
				stdin:        strings.NewReader(tt.stdin),
				stdout:       &stdout,
				stderr:       &stderr,
				functionsDir: fixtureFunctions,
				buildDir:     buildDir,
				workDir:      t.TempDir(),
			})
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, &stderr)
			}
			if tt.wantStdout != "" && stdout.String() != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", &stdout, tt.wantStdout)
			}
			for _, want := range tt.wantInOut {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %s:\n%s", want, &stdout)
				}
			}
			for _, unwanted := range tt.notInOut {
				if strings.Contains(stdout.String(), unwanted) {
					t.Errorf("stdout has %s:\n%s", unwanted, &stdout)
				}
			}
			for _, want := range tt.wantInErr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %s:\n%s", want, &stderr)
				}
			}
		})
	}
}

func TestFunctionEnv(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{name: "empty", environ: nil, want: nil},
		{
			name:    "hub settings and AWS credentials pass",
			environ: []string{"HUB_TABLE=t", "HUB_KEY_FILE=.data/key", "AWS_ACCESS_KEY_ID=id", "AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=tok", "AWS_REGION=eu-west-1"},
			want:    []string{"HUB_TABLE=t", "HUB_KEY_FILE=.data/key", "AWS_ACCESS_KEY_ID=id", "AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=tok", "AWS_REGION=eu-west-1"},
		},
		{
			name:    "everything else stays",
			environ: []string{"HOME=/root", "PATH=/bin", "AWS_PROFILE=dev", "XHUB_TABLE=t", "hub_table=t", "GOFLAGS=-race"},
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := functionEnv(tt.environ); !slices.Equal(got, tt.want) {
				t.Errorf("functionEnv = %q, want %q", got, tt.want)
			}
		})
	}
}
