// Command invoke runs one function's compiled bootstrap on this machine under
// a local Lambda Runtime API (internal/runtimeapi), as `sam local invoke`
// does, and prints what it returns. It is what `make invoke FN= EVENT=` runs:
//
//	go run ./infra/invoke -fn <name> [-event <file>|-] [-timeout 10s] [-memory 128]
//
// functions/<name> is built into build/host/<name>/bootstrap for this
// machine's GOOS/GOARCH with the deploy build's flags. The function gets
// Lambda's variables plus the HUB_* variables, AWS credentials and region of
// the current environment, and runs in the current directory, so relative
// paths in HUB_* variables mean what they do here. The response goes to
// stdout, indented when it is JSON, or Lambda's error document when the
// function failed; the function's logs and a REPORT line go to stderr.
//
// Exit status: 0 when the function succeeded, 1 when it returned an error
// or could not be run, 2 for bad usage.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/integration-hub/hub/internal/emulators"
	"github.com/integration-hub/hub/internal/runtimeapi"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/template"
)

const (
	exitFailed = 1
	exitUsage  = 2
)

// hostSetup is what run takes from the process, so tests can supply their
// own.
type hostSetup struct {
	environ []string
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	// functionsDir holds one main package per function, named by -fn.
	functionsDir string
	// buildDir gets <name>/bootstrap for each function built.
	buildDir string
	workDir  string
	// prepare, when set, supplies what the function needs locally that the
	// environment does not give (see localDefaults), and its cleanup.
	prepare func(ctx context.Context, function string, environ []string) ([]string, func(), error)
}

func main() {
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runInRepository(ctx)
	stopSignals()
	os.Exit(code)
}

func runInRepository(ctx context.Context) int {
	templatePath, err := template.Find()
	if err != nil {
		fmt.Fprintf(os.Stderr, "invoke: find the repository root: %v\n", err)
		return exitFailed
	}
	workDir, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(os.Stderr, "invoke: %v\n", err)
		return exitFailed
	}
	root := filepath.Dir(templatePath)
	return run(ctx, os.Args[1:], hostSetup{
		environ:      os.Environ(),
		stdin:        os.Stdin,
		stdout:       os.Stdout,
		stderr:       os.Stderr,
		functionsDir: filepath.Join(root, "functions"),
		buildDir:     filepath.Join(root, "build", "host"),
		workDir:      workDir,
		prepare:      localDefaults,
	})
}

func run(ctx context.Context, args []string, host hostSetup) int {
	flags := flag.NewFlagSet("invoke", flag.ContinueOnError)
	flags.SetOutput(host.stderr)
	name := flags.String("fn", "", "function to run: a folder under functions/ (required)")
	eventPath := flags.String("event", "", "event JSON file, or - for standard input; {} when not given")
	timeout := flags.Duration("timeout", 10*time.Second, "function timeout (template.yaml's Globals)")
	memoryMB := flags.Int("memory", 128, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE in MB (template.yaml's Globals)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(host.stderr, "invoke: unexpected arguments %q\n", flags.Args())
		return exitUsage
	}
	pkgDir, err := functionDir(host.functionsDir, *name)
	if err != nil {
		fmt.Fprintf(host.stderr, "invoke: %v\n", err)
		return exitUsage
	}
	event, err := readEvent(*eventPath, host.stdin)
	if err != nil {
		fmt.Fprintf(host.stderr, "invoke: %v\n", err)
		return exitFailed
	}

	bootstrap, err := runtimeapi.Build(ctx, pkgDir, filepath.Join(host.buildDir, *name))
	if err != nil {
		fmt.Fprintf(host.stderr, "invoke: %v\n", err)
		return exitFailed
	}
	opts := []runtimeapi.Option{
		runtimeapi.WithFunctionName(*name),
		runtimeapi.WithTimeout(*timeout),
		runtimeapi.WithMemoryMB(*memoryMB),
		runtimeapi.WithLogs(host.stderr),
		runtimeapi.WithWorkDir(host.workDir),
	}
	environ := host.environ
	if host.prepare != nil {
		extra, cleanup, err := host.prepare(ctx, *name, environ)
		if err != nil {
			fmt.Fprintf(host.stderr, "invoke: %v\n", err)
			return exitFailed
		}
		defer cleanup()
		environ = append(slices.Clone(environ), extra...)
	}
	if region := lookupEnv(environ, "AWS_REGION"); region != "" {
		opts = append(opts, runtimeapi.WithRegion(region))
	}
	result, measured, err := invoke(ctx, bootstrap, functionEnv(environ), event, opts)
	if result.RequestID != "" {
		fmt.Fprintf(host.stderr, "REPORT RequestId: %s\tInit Duration: %.2f ms\tDuration: %.2f ms\tMemory Size: %d MB\tMax Memory Used: %d MB\n",
			result.RequestID, milliseconds(measured.initDuration), milliseconds(result.Duration), *memoryMB, (measured.peakRSS+1<<20-1)>>20)
	}
	if err != nil {
		fmt.Fprintf(host.stderr, "invoke: %v\n", err)
		return exitFailed
	}
	if result.Error != nil {
		document, err := json.MarshalIndent(result.Error, "", "  ")
		if err != nil {
			fmt.Fprintf(host.stderr, "invoke: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(host.stdout, "%s\n", document)
		return exitFailed
	}
	fmt.Fprintf(host.stdout, "%s\n", indentJSON(result.Payload))
	return 0
}

// measurements are what Lambda's REPORT line tells beyond the result.
type measurements struct {
	initDuration time.Duration
	peakRSS      int64
}

// invoke runs one invocation on a fresh process.
func invoke(ctx context.Context, bootstrap string, env []string, event []byte, opts []runtimeapi.Option) (result runtimeapi.Result, measured measurements, err error) {
	f, err := runtimeapi.Start(ctx, bootstrap, env, opts...)
	if err != nil {
		return result, measured, err
	}
	defer func() {
		if stopErr := f.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
	}()
	result, err = f.Invoke(ctx, event)
	measured.initDuration = f.ReadyAfter()
	if peak, rssErr := f.PeakRSS(); rssErr == nil {
		measured.peakRSS = peak
	}
	return result, measured, err
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// functionDir is the package folder of the function called name, which
// must be a plain folder name under functionsDir.
func functionDir(functionsDir, name string) (string, error) {
	if name == "" {
		return "", errors.New("-fn is required: " + available(functionsDir))
	}
	if name != filepath.Base(name) || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("-fn %q is not a folder name: %s", name, available(functionsDir))
	}
	dir := filepath.Join(functionsDir, name)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return "", fmt.Errorf("no function %q in %s: %s", name, functionsDir, available(functionsDir))
	}
	return dir, nil
}

func available(functionsDir string) string {
	entries, err := os.ReadDir(functionsDir)
	if err != nil {
		return fmt.Sprintf("cannot list %s: %v", functionsDir, err)
	}
	var names []string
	for _, entry := range entries {
		if entry.IsDir() {
			names = append(names, entry.Name())
		}
	}
	if len(names) == 0 {
		return "there are no functions in " + functionsDir
	}
	return "one of " + strings.Join(names, ", ")
}

func readEvent(path string, stdin io.Reader) ([]byte, error) {
	var event []byte
	var err error
	switch path {
	case "":
		return []byte("{}"), nil
	case "-":
		event, err = io.ReadAll(stdin)
		path = "standard input"
	default:
		event, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read the event: %w", err)
	}
	if !json.Valid(event) {
		return nil, fmt.Errorf("the event in %s is not JSON", path)
	}
	return event, nil
}

// passedAWSVariables are the current environment's AWS settings a function
// gets, as `sam local invoke` passes them; without credentials it gets
// placeholders.
var passedAWSVariables = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_REGION", "AWS_DEFAULT_REGION",
}

// functionEnv is the part of environ a function gets: the hub's own HUB_*
// settings and AWS credentials and region.
func functionEnv(environ []string) []string {
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HUB_") || slices.Contains(passedAWSVariables, name) {
			env = append(env, kv)
		}
	}
	return env
}

func lookupEnv(environ []string, name string) string {
	for _, kv := range slices.Backward(environ) {
		if value, ok := strings.CutPrefix(kv, name+"="); ok {
			return value
		}
	}
	return ""
}

// indentJSON indents a JSON payload and leaves any other as it is.
func indentJSON(payload []byte) []byte {
	var indented bytes.Buffer
	if err := json.Indent(&indented, payload, "", "  "); err != nil {
		return payload
	}
	return indented.Bytes()
}

// localDefaults gives a function what Lambda would, when the environment
// names no table: a DynamoDB Local with the template's table, the local
// stack's key file, and for the notifier the SES emulator and a sender.
// All are stopped when the invocation ends.
func localDefaults(ctx context.Context, function string, environ []string) ([]string, func(), error) {
	var extra []string
	var stops []func()
	cleanup := func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}
	if lookupEnv(environ, "HUB_KEY_FILE") == "" && lookupEnv(environ, "HUB_KEY_PARAMETER") == "" {
		extra = append(extra, "HUB_KEY_FILE="+filepath.Join(".data", "master.key"))
	}
	if lookupEnv(environ, "HUB_PUBLIC_BASE_URL") == "" {
		extra = append(extra, "HUB_PUBLIC_BASE_URL=http://127.0.0.1:8080")
	}
	if lookupEnv(environ, "HUB_TABLE") == "" {
		ddb, err := emulators.StartDynamoDBLocal()
		if err != nil {
			return nil, cleanup, fmt.Errorf("no HUB_TABLE given and DynamoDB Local cannot start (run `make emulators`): %w", err)
		}
		stops = append(stops, ddb.Stop)
		tm, err := template.Load()
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		client, err := dynamo.NewClient(ctx, ddb.Endpoint)
		if err == nil {
			err = dynamo.CreateTable(ctx, client, "integration-hub", tm.Table.Schema, tm.Table.StreamView)
		}
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		extra = append(extra, "HUB_TABLE=integration-hub", "HUB_DYNAMODB_ENDPOINT="+ddb.Endpoint)
	}
	if function == "notifier" && lookupEnv(environ, "HUB_SES_ENDPOINT") == "" && lookupEnv(environ, "AWS_REGION") == "" {
		ses, err := emulators.StartSES()
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("the notifier needs SES and the emulator cannot start (run `make emulators`): %w", err)
		}
		stops = append(stops, ses.Stop)
		extra = append(extra, "HUB_SES_ENDPOINT="+ses.Endpoint)
		if lookupEnv(environ, "HUB_SENDER") == "" {
			extra = append(extra, "HUB_SENDER=hub@localhost.localdomain")
		}
	}
	return extra, cleanup, nil
}
