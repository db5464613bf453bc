package appses_test

import (
	"context"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/app/appses"
	"github.com/integration-hub/hub/internal/config"
)

func TestWithSESNeedsASenderAndAnAbsoluteEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.Config
		wantErr string // "" when the sender must be set
	}{
		{"the emulator", config.Config{Sender: "hub@hub.test", SESEndpoint: "http://127.0.0.1:8005"}, ""},
		{"no sender", config.Config{SESEndpoint: "http://127.0.0.1:8005"}, "HUB_SENDER"},
		{"a relative endpoint", config.Config{Sender: "hub@hub.test", SESEndpoint: "localhost:8005"}, "not an absolute URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &app.Deps{}
			err := appses.WithSES(context.Background(), tc.cfg, d)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				if d.Sender != nil {
					t.Fatal("a refused configuration set a sender")
				}
				return
			}
			if err != nil || d.Sender == nil {
				t.Fatalf("err = %v, sender %v; want a sender", err, d.Sender)
			}
		})
	}
}
