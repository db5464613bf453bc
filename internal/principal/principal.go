// Package principal is who is calling. The authorizer resolves a credential to
// a Principal and returns it as its response context; API Gateway passes that
// context to the function in the request context, the only place handlers
// read it from (never the path, query or body).
package principal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Kind is the kind of principal.
type Kind string

const (
	HubUser     Kind = "hub_user"     // a user of the organization itself
	PartnerUser Kind = "partner_user" // a user of one of its partner organizations
	APIKey      Kind = "api_key"      // an API key of the organization
	EndUser     Kind = "end_user"     // a marketplace end-user (signed token)
)

// Plan of an organization.
type Plan string

const (
	Standard Plan = "standard"
	Lite     Plan = "lite"
)

// Principal is the resolved caller. Every field comes from the authorizer.
type Principal struct {
	Kind    Kind
	Org     string
	Subject string // user id, API key id or end-user id
	Plan    Plan
	// Partner is the partner organization of a partner user.
	Partner string
	// PartnerPending: the partner user's organization has not submitted the
	// Partner Form yet; only that form is reachable.
	PartnerPending bool
	// Scopes of an API key.
	Scopes []string
	// UseDue: the API key's last use was recorded longer ago than the
	// interval its "last used at" keeps (or never), so the function it
	// reaches records this one; other calls read nothing for it.
	UseDue bool
	// Groups and Tier of a marketplace end-user, from the signed token.
	Groups []string
	Tier   string
	// Hidden integration ids and install limit of an end-user (xti).
	Hidden          []string
	AllowedInstalls int
}

// HasScope reports whether an API key principal holds scope.
func (p Principal) HasScope(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Context keys of the authorizer response. API Gateway passes a simple
// response's context values through as JSON scalars, so lists travel as
// JSON strings.
const (
	ctxKind     = "kind"
	ctxOrg      = "org"
	ctxSubject  = "sub"
	ctxPlan     = "plan"
	ctxPartner  = "partner"
	ctxPending  = "partner_pending"
	ctxScopes   = "scopes"
	ctxGroups   = "groups"
	ctxTier     = "tier"
	ctxHidden   = "hidden"
	ctxInstalls = "allowed_installs"
	ctxRefused  = "refused"
	ctxUseDue   = "use_due"
)

// Refusal is why the authorizer refused a request's credential. API
// Gateway's simple authorizer responses can only deny with 403, so the
// authorizer admits the request carrying only its refusal, and the
// function answers 401 before any handler runs (web.Router).
type Refusal string

const (
	// RefusedMissing: the request carries no credential the route takes.
	RefusedMissing Refusal = "missing"
	// RefusedInvalid: malformed, unknown, revoked, signed with a key the
	// hub does not accept for it, or failing one of its rules.
	RefusedInvalid Refusal = "invalid"
	// RefusedExpired: genuine (its signature or secret checked) but past
	// its expiry.
	RefusedExpired Refusal = "expired"
	// RefusedEnded: a genuine session that has ended (signed out, password
	// reset, user deleted or deactivated).
	RefusedEnded Refusal = "ended"
)

// Context is the authorizer response context of a refused request: the
// refusal and nothing else.
func (r Refusal) Context() map[string]any { return map[string]any{ctxRefused: string(r)} }

// RefusedError is FromContext's error for a refused request.
type RefusedError struct{ Refusal Refusal }

func (e *RefusedError) Error() string { return "principal: credential refused: " + string(e.Refusal) }

// Context is the principal as an authorizer response context.
func (p Principal) Context() map[string]any {
	// Only what is set: FromContext reads an absent entry as the zero
	// value, and a map of at most eight entries is one allocation to
	// build or copy.
	c := make(map[string]any, 8)
	set := func(k, v string) {
		if v != "" {
			c[k] = v
		}
	}
	list := func(k string, v []string) {
		if len(v) > 0 {
			b, _ := json.Marshal(v)
			c[k] = string(b)
		}
	}
	set(ctxKind, string(p.Kind))
	set(ctxOrg, p.Org)
	set(ctxSubject, p.Subject)
	set(ctxPlan, string(p.Plan))
	set(ctxPartner, p.Partner)
	if p.PartnerPending {
		c[ctxPending] = true
	}
	list(ctxScopes, p.Scopes)
	if p.UseDue {
		c[ctxUseDue] = true
	}
	list(ctxGroups, p.Groups)
	set(ctxTier, p.Tier)
	list(ctxHidden, p.Hidden)
	if p.AllowedInstalls != 0 {
		c[ctxInstalls] = p.AllowedInstalls
	}
	return c
}

// ErrMissing: the request context holds no principal (a route without the
// authorizer, or a request that did not come through API Gateway).
var ErrMissing = errors.New("principal: no authorizer context")

// FromContext reads the principal back from an authorizer context as API
// Gateway delivers it (JSON decoding turns numbers into float64).
func FromContext(c map[string]any) (Principal, error) {
	if len(c) == 0 {
		return Principal{}, ErrMissing
	}
	str := func(k string) string { s, _ := c[k].(string); return s }
	// A refusal is read first: it admits nothing, whatever else the
	// context holds.
	if _, ok := c[ctxRefused]; ok {
		switch r := Refusal(str(ctxRefused)); r {
		case RefusedMissing, RefusedExpired, RefusedEnded:
			return Principal{}, &RefusedError{Refusal: r}
		}
		return Principal{}, &RefusedError{Refusal: RefusedInvalid}
	}
	list := func(k string) ([]string, error) {
		s := str(k)
		if s == "" || s == "[]" {
			return nil, nil
		}
		var v []string
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("principal: context %q: %w", k, err)
		}
		return v, nil
	}
	p := Principal{
		Kind:    Kind(str(ctxKind)),
		Org:     str(ctxOrg),
		Subject: str(ctxSubject),
		Plan:    Plan(str(ctxPlan)),
		Partner: str(ctxPartner),
		Tier:    str(ctxTier),
	}
	switch v := c[ctxPending].(type) {
	case bool:
		p.PartnerPending = v
	case string:
		p.PartnerPending = strings.EqualFold(v, "true")
	}
	switch v := c[ctxUseDue].(type) {
	case bool:
		p.UseDue = v
	case string:
		p.UseDue = strings.EqualFold(v, "true")
	}
	switch v := c[ctxInstalls].(type) {
	case float64:
		p.AllowedInstalls = int(v)
	case int:
		p.AllowedInstalls = v
	case json.Number:
		n, _ := v.Int64()
		p.AllowedInstalls = int(n)
	}
	var err error
	if p.Scopes, err = list(ctxScopes); err != nil {
		return Principal{}, err
	}
	if p.Groups, err = list(ctxGroups); err != nil {
		return Principal{}, err
	}
	if p.Hidden, err = list(ctxHidden); err != nil {
		return Principal{}, err
	}
	switch p.Kind {
	case HubUser, PartnerUser, APIKey, EndUser:
	default:
		return Principal{}, fmt.Errorf("principal: unknown kind %q", p.Kind)
	}
	if p.Org == "" || p.Subject == "" {
		return Principal{}, errors.New("principal: context lacks organization or subject")
	}
	if p.Kind == PartnerUser && p.Partner == "" {
		return Principal{}, errors.New("principal: partner user without partner organization")
	}
	return p, nil
}
