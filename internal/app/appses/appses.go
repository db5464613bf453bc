// Package appses adds the SES sender to a function's dependencies. It is
// apart from package app so that only the function that sends email (the
// notifier) links the SES client.
package appses

import (
	"context"
	"fmt"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/config"
	"github.com/integration-hub/hub/internal/email/sesmail"
	"github.com/integration-hub/hub/internal/notifier"
)

var _ notifier.Sender = (*sesmail.Sender)(nil)

// WithSES builds the SES sender from HUB_SENDER and HUB_SES_ENDPOINT (the
// emulator's, or empty for SES itself): an app.Option.
func WithSES(ctx context.Context, cfg config.Config, d *app.Deps) error {
	if cfg.Sender == "" {
		return fmt.Errorf("appses: HUB_SENDER is required to send email")
	}
	client, err := sesmail.NewClient(ctx, cfg.SESEndpoint)
	if err != nil {
		return fmt.Errorf("appses: SES client: %w", err)
	}
	d.Sender = sesmail.New(client, cfg.Sender)
	return nil
}

var _ app.Option = WithSES
