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

	"strings"
	"unicode/utf8"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/users"
)

// Request is the invocation payload.
type Request struct {
	// Action is "create_organization".
	Action       string       `json:"action"`
	Organization *CreateInput `json:"organization,omitempty"`
}

// Response is the invocation's result.
type Response struct {
	Organization orgs.Organization `json:"organization"`
	AdminID      string            `json:"admin_id"`
}

// Operator handles operator actions.
type Operator struct {
	Table Writer
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
		created, err := Create(ctx, o.Table, *req.Organization, o.Links, o.Box, o.Now())
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

// Writer is what Create needs of the table.
type Writer interface {
	Write(ctx context.Context, ops ...storage.Op) error
}

// CreateInput is an operator's request for a new organization.
type CreateInput struct {
	// ID is optional; a fresh id is made when empty (the local stack uses a
	// fixed one for its demo organization).
	ID         string         `json:"id,omitempty"`
	Name       string         `json:"name"`
	Plan       principal.Plan `json:"plan"`
	AdminEmail string         `json:"admin_email"`
	AdminName  string         `json:"admin_name,omitempty"`
}

// Validate checks an input and normalizes it.
func (in *CreateInput) Validate() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > orgs.MaxNameLength || !utf8.ValidString(in.Name) {
		return apperr.Field("name", "invalid_name", "the name has 1 to %d characters", orgs.MaxNameLength)
	}
	switch in.Plan {
	case "":
		in.Plan = principal.Standard
	case principal.Standard, principal.Lite:
	default:
		return apperr.Field("plan", "invalid_plan", "plan is %q or %q", principal.Standard, principal.Lite)
	}
	if in.ID != "" && !keys.ValidID(in.ID) {
		return apperr.Field("id", "invalid_id", "an id is not empty and has no '#'")
	}
	email, err := users.NormalizeEmail(in.AdminEmail)
	if err != nil {
		return apperr.Field("admin_email", "invalid_email", "%s", err.Error())
	}
	in.AdminEmail = email
	if utf8.RuneCountInString(in.AdminName) > users.MaxNameLength {
		return apperr.Field("admin_name", "invalid_name", "the name has at most %d characters", users.MaxNameLength)
	}
	return nil
}

// Created is the result of Create.
type Created struct {
	Org     orgs.Organization `json:"organization"`
	Admin   users.User        `json:"-"`
	AdminID string            `json:"admin_id"`
}

// ErrExists: an organization with the id exists.
var ErrExists = errors.New("operator: organization exists")

// Create writes the organization, its primary administrator as an invited
// user, and the invitation (token and email event) in one atomic write.
func Create(ctx context.Context, table Writer, in CreateInput, links users.Links, box users.Sealer, now time.Time) (Created, error) {
	if err := in.Validate(); err != nil {
		return Created{}, err
	}
	if in.ID == "" {
		in.ID = ids.At(now)
	}
	admin := users.User{
		ID: ids.At(now), Org: in.ID, Email: in.AdminEmail, Name: strings.TrimSpace(in.AdminName),
		Role: users.RoleHubUser, InvitedBy: "operator", CreatedAt: now.UTC(), Primary: true,
	}
	org := orgs.Organization{ID: in.ID, Name: in.Name, Plan: in.Plan, PrimaryAdmin: admin.ID, PrimaryContact: admin.Email, CreatedAt: now.UTC()}
	orgItem, err := org.Item(1)
	if err != nil {
		return Created{}, err
	}
	invite, err := users.InviteOps(admin, users.Invitation{OrgName: org.Name, InviterName: "the hub operator"}, links, box, now)
	if err != nil {
		return Created{}, err
	}
	ops := append([]storage.Op{storage.Put(orgItem, storage.Absent())}, invite...)
	if err := table.Write(ctx, ops...); err != nil {
		switch {
		case storage.FailedOn(err, 0):
			return Created{}, &apperr.Error{Kind: apperr.Conflict, Code: "organization_exists", Field: "id", Detail: "an organization with this id exists", Err: ErrExists}
		case storage.FailedOn(err, 1+users.OpEmailGuard):
			return Created{}, &apperr.Error{Kind: apperr.Conflict, Code: "email_unavailable", Field: "admin_email", Detail: "this address cannot be used for a new administrator"}
		}
		return Created{}, fmt.Errorf("operator: create organization %s: %w", in.ID, err)
	}
	return Created{Org: org, Admin: admin, AdminID: admin.ID}, nil
}
