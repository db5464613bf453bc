// Package config reads the hub's settings from the environment, the same
// way in Lambda (template.yaml's Environment) and in the local stack.
package config

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/integration-hub/hub/internal/secrets"
)

// Config is every setting a function may need.
type Config struct {
	// Table is the DynamoDB table name (HUB_TABLE).
	Table string
	// DynamoDBEndpoint points the DynamoDB client at DynamoDB Local
	// (HUB_DYNAMODB_ENDPOINT); empty in AWS.
	DynamoDBEndpoint string
	// SESEndpoint points the SES client at the SES emulator
	// (HUB_SES_ENDPOINT); empty in AWS.
	SESEndpoint string
	// Sender is the From address of every email (HUB_SENDER).
	Sender string
	// PublicBaseURL is the hub front end's base URL; email links point
	// there (HUB_PUBLIC_BASE_URL).
	PublicBaseURL string
	// KeyParameter is the SSM SecureString holding the master secret
	// (HUB_KEY_PARAMETER), or KeyFile a local file (HUB_KEY_FILE) that is
	// created when missing.
	KeyParameter string
	KeyFile      string
}

// FromEnv reads the configuration with getenv (os.Getenv).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Table:            getenv("HUB_TABLE"),
		DynamoDBEndpoint: getenv("HUB_DYNAMODB_ENDPOINT"),
		SESEndpoint:      getenv("HUB_SES_ENDPOINT"),
		Sender:           getenv("HUB_SENDER"),
		PublicBaseURL:    strings.TrimRight(getenv("HUB_PUBLIC_BASE_URL"), "/"),
		KeyParameter:     getenv("HUB_KEY_PARAMETER"),
		KeyFile:          getenv("HUB_KEY_FILE"),
	}
	var missing []string
	if c.Table == "" {
		missing = append(missing, "HUB_TABLE")
	}
	if c.KeyParameter == "" && c.KeyFile == "" {
		missing = append(missing, "HUB_KEY_PARAMETER or HUB_KEY_FILE")
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("config: missing %s", strings.Join(missing, ", "))
	}
	if c.PublicBaseURL != "" {
		u, err := url.Parse(c.PublicBaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return c, fmt.Errorf("config: HUB_PUBLIC_BASE_URL %q is not an absolute http(s) URL", c.PublicBaseURL)
		}
	}
	return c, nil
}

// ParameterReader reads one decrypted SSM parameter (SSM in this package).
type ParameterReader interface {
	Parameter(ctx context.Context, name string) (string, error)
}

// Keyring loads the master secret (once, at init) and returns the keyring.
// params may be nil when KeyFile is set.
func (c Config) Keyring(ctx context.Context, params ParameterReader) (*secrets.Keyring, error) {
	var master []byte
	var err error
	switch {
	case c.KeyFile != "":
		master, err = secrets.LoadOrCreateFile(c.KeyFile)
	case params == nil:
		return nil, errors.New("config: HUB_KEY_PARAMETER needs an SSM client")
	default:
		var value string
		if value, err = params.Parameter(ctx, c.KeyParameter); err == nil {
			master, err = secrets.DecodeMaster(value)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("config: master secret: %w", err)
	}
	return secrets.NewKeyring(master)
}
