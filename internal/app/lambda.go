package app

import (
	"context"
	"fmt"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/integration-hub/hub/internal/config"
	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/users"
)

// FromEnv builds the dependencies of a function running in Lambda (or under
// the local Runtime API harness) from its environment, once, at init. The
// SES client is built only for functions that send email (withEmail).
func FromEnv(ctx context.Context, withEmail bool) (*Deps, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.Load()
	if err != nil {
		return nil, err
	}
	ddb, err := dynamo.NewClient(ctx, cfg.DynamoDBEndpoint)
	if err != nil {
		return nil, fmt.Errorf("app: DynamoDB client: %w", err)
	}
	var params config.ParameterReader
	if cfg.KeyFile == "" {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("app: AWS configuration: %w", err)
		}
		params = ssm.NewFromConfig(awsCfg)
	}
	keys, err := cfg.Keyring(ctx, params)
	if err != nil {
		return nil, err
	}
	d := &Deps{
		Table:  dynamo.New(ddb, cfg.Table, tmpl.Table.Schema),
		Schema: tmpl.Table.Schema,
		Keys:   keys,
		Links:  users.Links{Base: cfg.PublicBaseURL},
	}
	if d.SourceControl, err = sourcecontrol.FromEnv(os.Getenv); err != nil {
		return nil, err
	}
	if withEmail {
		if cfg.Sender == "" {
			return nil, fmt.Errorf("app: HUB_SENDER is required to send email")
		}
		client, err := email.NewSESClient(ctx, cfg.SESEndpoint)
		if err != nil {
			return nil, fmt.Errorf("app: SES client: %w", err)
		}
		d.Sender = email.NewSES(client, cfg.Sender)
	}
	return d, nil
}

// MustFromEnv is FromEnv for a main: a function that cannot initialise
// exits, and Lambda reports the init error.
func MustFromEnv(withEmail bool) *Deps {
	d, err := FromEnv(context.Background(), withEmail)
	if err != nil {
		fmt.Fprintln(os.Stderr, "init:", err)
		os.Exit(1)
	}
	return d
}
