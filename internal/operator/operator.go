// Package operator serves the operator's actions, invoked directly (aws
// lambda invoke, or the local stack's command) rather than over HTTP: only
// someone with IAM rights to invoke the function can create an organization.
package operator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/users"
)

// Request is the invocation payload.
type Request struct {
	// Action is "create_organization".
	Action       string            `json:"action"`
	Organization *orgs.CreateInput `json:"organization,omitempty"`
}

// Response is the invocation's result.
type Response struct {
	Organization orgs.Organization `json:"organization"`
	AdminID      string            `json:"admin_id"`
}

// Operator handles operator actions.
type Operator struct {
	Table orgs.Writer
	Links users.Links
	Box   users.Sealer
	Log   *slog.Logger
	Now   func() time.Time
}

// Handle is the Lambda handler.
func (o *Operator) Handle(ctx context.Context, req Request) (Response, error) {
	switch req.Action {
	case "create_organization":
		if req.Organization == nil {
			return Response{}, errors.New("create_organization needs an organization")
		}
		created, err := orgs.Create(ctx, o.Table, *req.Organization, o.Links, o.Box, o.Now())
		if err != nil {
			if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
				return Response{}, fmt.Errorf("%s: %s", e.Code, e.Detail)
			}
			o.Log.ErrorContext(ctx, "create organization failed", slog.String("error", err.Error()))
			return Response{}, err
		}
		o.Log.InfoContext(ctx, "organization created", slog.String("org", created.Org.ID), slog.String("plan", string(created.Org.Plan)))
		return Response{Organization: created.Org, AdminID: created.AdminID}, nil
	case "":
		return Response{}, errors.New(`missing "action"`)
	default:
		return Response{}, fmt.Errorf("unknown action %q", req.Action)
	}
}
