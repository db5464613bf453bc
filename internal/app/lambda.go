package app

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/integration-hub/hub/internal/awsenv"
	"github.com/integration-hub/hub/internal/config"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/tableschema"
	"github.com/integration-hub/hub/internal/users"
)

// Option adds to the dependencies a function builds at init.
type Option func(ctx context.Context, cfg config.Config, d *Deps) error

// WithSourceControl reads the Source Control area's OAuth providers.
func WithSourceControl(_ context.Context, _ config.Config, d *Deps) error {
	var err error
	d.SourceControl, err = sourcecontrol.FromEnv(os.Getenv)
	return err
}

// FromEnv builds the dependencies of a function running in Lambda (or under
// the local Runtime API harness) from its environment, once, at init.
func FromEnv(ctx context.Context, opts ...Option) (*Deps, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	schema := tableschema.Load()
	ddb, err := dynamo.NewClient(ctx, cfg.DynamoDBEndpoint)
	if err != nil {
		return nil, fmt.Errorf("app: DynamoDB client: %w", err)
	}
	var params config.ParameterReader
	if cfg.KeyFile == "" {
		awsCfg, err := awsenv.Config(os.Getenv, "")
		if err != nil {
			return nil, fmt.Errorf("app: AWS configuration: %w", err)
		}
		params = &config.SSM{Region: awsCfg.Region, Credentials: awsCfg.Credentials, Endpoint: os.Getenv("AWS_ENDPOINT_URL_SSM")}
	}
	keys, err := cfg.Keyring(ctx, params)
	if err != nil {
		return nil, err
	}
	d := &Deps{
		Table:  dynamo.New(ddb, cfg.Table, schema),
		Schema: schema,
		Keys:   keys,
		Links:  users.Links{Base: cfg.PublicBaseURL},
	}
	for _, opt := range opts {
		if err := opt(ctx, cfg, d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// memoryLimitShare is the part of the function's memory the Go runtime aims
// to stay within (48 MiB of a 128 MB function), leaving room for the mapped
// binary and what the limit does not count: argon2id alone allocates 19 MiB
// per password hash, and without a limit the collector lets the heap grow
// to twice what is live.
const memoryLimitShare = 0.375

// limitMemory sets Go's soft memory limit from the Lambda's memory size,
// unless GOMEMLIMIT is set.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 {
		return
	}
	debug.SetMemoryLimit(int64(float64(mb) * memoryLimitShare * (1 << 20)))
}

// MustFromEnv is FromEnv for a main: a function that cannot initialise
// exits, and Lambda reports the init error.
func MustFromEnv(opts ...Option) *Deps {
	limitMemory()
	d, err := FromEnv(context.Background(), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "init:", err)
		os.Exit(1)
	}
	return d
}
