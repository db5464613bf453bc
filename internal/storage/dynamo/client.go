package dynamo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/integration-hub/hub/internal/awsenv"
)

// Retry defaults: enough attempts to ride out a burst of throttling or a
// conflicting transaction, short enough to fit a Lambda's 10 s timeout.
const (
	DefaultMaxAttempts = 5
	DefaultMaxBackoff  = time.Second
)

// ClientOption adjusts the clients built by NewClient and AWSConfig.
type ClientOption func(*clientSettings)

type clientSettings struct {
	maxAttempts int
	maxBackoff  time.Duration
	httpClient  aws.HTTPClient
	region      string
	// emulator is set by loadConfig when the endpoint is DynamoDB Local.
	emulator bool
}

// WithRetries bounds the SDK's retries: at most maxAttempts attempts per
// call, with jittered exponential backoff capped at maxBackoff.
func WithRetries(maxAttempts int, maxBackoff time.Duration) ClientOption {
	return func(s *clientSettings) {
		s.maxAttempts = maxAttempts
		s.maxBackoff = maxBackoff
	}
}

// WithHTTPClient sends the client's requests through hc (tests inject faults
// with it).
func WithHTTPClient(hc aws.HTTPClient) ClientOption {
	return func(s *clientSettings) { s.httpClient = hc }
}

// WithRegion sets the region, overriding the environment (and, for an
// emulator, the fixed local region).
func WithRegion(region string) ClientOption {
	return func(s *clientSettings) { s.region = region }
}

// NewClient builds a DynamoDB client. With an empty endpoint it uses the
// environment's region and credentials (as in Lambda); with an endpoint it
// sends every request there, and an endpoint on a loopback address or over
// plain HTTP is taken for an emulator and gets fixed dummy credentials and
// region. Build it once and share it.
func NewClient(ctx context.Context, endpoint string, opts ...ClientOption) (*dynamodb.Client, error) {
	cfg, settings, err := loadConfig(ctx, endpoint, opts)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		if settings.httpClient != nil {
			o.HTTPClient = settings.httpClient
		}
		// DynamoDB Local sends no CRC32 header with its error responses,
		// which the SDK would then report as a checksum mismatch.
		o.DisableValidateResponseChecksum = settings.emulator
	}), nil
}

// AWSConfig is the configuration NewClient builds its client from (region,
// credentials, bounded retries, the HTTP client of WithHTTPClient), for a
// client of another DynamoDB API on the same endpoint (dynamofeed's
// DynamoDB Streams client).
func AWSConfig(ctx context.Context, endpoint string, opts ...ClientOption) (aws.Config, error) {
	cfg, settings, err := loadConfig(ctx, endpoint, opts)
	if err != nil {
		return aws.Config{}, err
	}
	if settings.httpClient != nil {
		cfg.HTTPClient = settings.httpClient
	}
	return cfg, nil
}

// loadConfig is the configuration of the client: awsenv's, with the
// bounded retryer and the region of the options.
func loadConfig(_ context.Context, endpoint string, opts []ClientOption) (aws.Config, clientSettings, error) {
	settings := clientSettings{maxAttempts: DefaultMaxAttempts, maxBackoff: DefaultMaxBackoff}
	for _, opt := range opts {
		opt(&settings)
	}
	local, err := awsenv.IsEmulator(endpoint)
	if err != nil {
		return aws.Config{}, settings, fmt.Errorf("dynamo: %w", err)
	}
	settings.emulator = local
	cfg, err := awsenv.Config(os.Getenv, endpoint)
	if err != nil {
		return aws.Config{}, settings, fmt.Errorf("dynamo: %w", err)
	}
	cfg.Retryer = func() aws.Retryer { return newRetryer(settings) }
	if settings.region != "" {
		cfg.Region = settings.region
	}
	return cfg, settings, nil
}

// newRetryer is the SDK's standard retryer (throttling, 5xx and connection
// errors), bounded, and also retrying transaction conflicts: a transaction
// cancelled only because another one held its items, or throttled, succeeds
// on a later attempt, while one whose condition failed never will.
func newRetryer(s clientSettings) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = s.maxAttempts
		o.MaxBackoff = s.maxBackoff
		o.Retryables = append(o.Retryables,
			retry.RetryableErrorCode{Codes: map[string]struct{}{
				"TransactionConflictException":   {},
				"TransactionInProgressException": {},
			}},
			retry.IsErrorRetryableFunc(retryableCancellation),
		)
	})
}

func retryableCancellation(err error) aws.Ternary {
	var canceled *types.TransactionCanceledException
	if !errors.As(err, &canceled) {
		return aws.UnknownTernary
	}
	transient := false
	for _, reason := range canceled.CancellationReasons {
		switch aws.ToString(reason.Code) {
		case reasonConditionFailed:
			return aws.FalseTernary
		case reasonConflict, reasonThrottled, reasonThroughputExceeded:
			transient = true
		}
	}
	return aws.BoolTernary(transient)
}
