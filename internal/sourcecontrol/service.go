package sourcecontrol

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/storage"
)

// Table is the storage the area needs.
type Table interface {
	Get(ctx context.Context, k storage.Key) (storage.Item, error)
	Write(ctx context.Context, ops ...storage.Op) error
}

// CallbackPath is the public route the providers send the browser back to.
const CallbackPath = "/source-control/callback"

// FrontEndPath is the hub front end's Source Control page, where the
// callback sends the browser when it is done.
const FrontEndPath = "/settings/source-control"

// Service is the Source Control area.
type Service struct {
	table       Table
	box         *secrets.Box
	frontEnd    string
	providers   map[ProviderID]provider
	redirectURL string
	// client calls the providers' token and identity endpoints; built once.
	client *http.Client
	now    func() time.Time
}

// New builds the area from its configuration. frontEndBase is the hub front
// end's base URL (users.Links.Base); now is the clock (time.Now).
func New(table Table, keyring *secrets.Keyring, frontEndBase string, cfg Config, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSHandshakeTimeout = timeout
	transport.ResponseHeaderTimeout = timeout
	s := &Service{
		table:       table,
		box:         keyring.Box(KeyPurpose),
		frontEnd:    strings.TrimRight(frontEndBase, "/"),
		providers:   map[ProviderID]provider{},
		redirectURL: cfg.RedirectURL,
		client: &http.Client{
			Timeout:   timeout,
			Transport: transport,
			// Token and identity endpoints answer directly; a redirect
			// would resend the code or the token somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now: now,
	}
	for id, pc := range cfg.Providers {
		if sp, ok := specOf(id); ok && pc.ClientID != "" {
			s.providers[id] = provider{spec: sp, config: pc}
		}
	}
	return s
}

var (
	errNotConnected = apperr.New(apperr.NotFound, "not_connected", "no source control account is connected")
	errStale        = apperr.New(apperr.PreconditionFailed, "stale_version", "the connection changed since you read it; read it again")
)

// scopeOf is the partner whose connection p works on: "" for the
// organization's own (hub users), the partner organization for its users.
func scopeOf(p principal.Principal) (string, error) {
	if !keys.ValidID(p.Org) || !keys.ValidID(p.Subject) {
		return "", apperr.New(apperr.Forbidden, "forbidden_principal", "the caller has no organization")
	}
	switch p.Kind {
	case principal.HubUser:
		return "", nil
	case principal.PartnerUser:
		if keys.ValidID(p.Partner) {
			return p.Partner, nil
		}
	}
	return "", apperr.New(apperr.Forbidden, "forbidden_principal", "source control is open to hub users and partner users")
}

// ProviderView is a provider as the area lists it.
type ProviderView struct {
	ID         ProviderID `json:"id"`
	Name       string     `json:"name"`
	Configured bool       `json:"configured"`
}

// ConnectionView is a connection as the API shows it: never its tokens.
type ConnectionView struct {
	Provider     ProviderID `json:"provider"`
	ProviderName string     `json:"provider_name"`
	AccountLogin string     `json:"account_login"`
	AccountID    string     `json:"account_id,omitempty"`
	Scopes       []string   `json:"scopes"`
	ConnectedAt  time.Time  `json:"connected_at"`
	ConnectedBy  string     `json:"connected_by"`
}

// StatusView is the area's state for the caller.
type StatusView struct {
	Connected  bool            `json:"connected"`
	Connection *ConnectionView `json:"connection"`
	Providers  []ProviderView  `json:"providers"`
}

func viewOf(c Connection) *ConnectionView {
	sp, _ := specOf(c.Provider)
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return &ConnectionView{
		Provider: c.Provider, ProviderName: sp.name, AccountLogin: c.AccountLogin, AccountID: c.AccountID,
		Scopes: scopes, ConnectedAt: c.ConnectedAt, ConnectedBy: c.ConnectedBy,
	}
}

// Status shows the caller's connection, with its version for If-Match
// (0 when not connected), and which providers this hub offers.
func (s *Service) Status(ctx context.Context, p principal.Principal) (StatusView, int64, error) {
	partner, err := scopeOf(p)
	if err != nil {
		return StatusView{}, 0, err
	}
	v := StatusView{Providers: make([]ProviderView, 0, len(specs))}
	for _, sp := range specs {
		_, configured := s.providers[sp.id]
		v.Providers = append(v.Providers, ProviderView{ID: sp.id, Name: sp.name, Configured: configured})
	}
	it, err := s.table.Get(ctx, keys.SourceConnection(p.Org, partner))
	if errors.Is(err, storage.ErrNotFound) {
		return v, 0, nil
	}
	if err != nil {
		return StatusView{}, 0, fmt.Errorf("sourcecontrol: read connection: %w", err)
	}
	c, _, err := connectionFromItem(p.Org, it)
	if err != nil {
		return StatusView{}, 0, err
	}
	v.Connected, v.Connection = true, viewOf(c)
	return v, it.Version, nil
}

// ConnectInput starts a sign-in.
type ConnectInput struct {
	Provider string `json:"provider"`
}

// Authorization is where to send the browser to sign in.
type Authorization struct {
	Provider     ProviderID `json:"provider"`
	AuthorizeURL string     `json:"authorize_url"`
	ExpiresAt    time.Time  `json:"expires_at"`
}

func (s *Service) configured(field, name string) (provider, error) {
	if name == "" {
		return provider{}, apperr.Field(field, "provider_required", "provider is required")
	}
	sp, ok := specOf(ProviderID(name))
	if !ok {
		return provider{}, apperr.Field(field, "unknown_provider", "provider is one of github, gitlab, bitbucket, azure_devops")
	}
	pr, ok := s.providers[sp.id]
	if !ok {
		return provider{}, &apperr.Error{Kind: apperr.Invalid, Code: "provider_not_configured", Field: field,
			Detail: sp.name + " is not configured on this hub; the operator sets its OAuth client first"}
	}
	return pr, nil
}

// Connect starts a sign-in to a provider for the caller's organization (or
// partner organization). apiDomain is the API Gateway domain the request
// came to, for the callback URL when none is configured. Connecting again
// while connected is a reconnect: the callback replaces the connection.
func (s *Service) Connect(ctx context.Context, p principal.Principal, in ConnectInput, apiDomain string) (Authorization, error) {
	partner, err := scopeOf(p)
	if err != nil {
		return Authorization{}, err
	}
	pr, err := s.configured("provider", in.Provider)
	if err != nil {
		return Authorization{}, err
	}
	redirect := s.redirectURL
	if redirect == "" && apiDomain != "" && !strings.ContainsAny(apiDomain, "/?#@") {
		redirect = "https://" + apiDomain + CallbackPath
	}
	if redirect == "" {
		return Authorization{}, apperr.Wrap(apperr.Internal, "callback_url_unknown", errors.New("sourcecontrol: no "+RedirectURLVariable+" and no API domain"))
	}
	state, err := newState()
	if err != nil {
		return Authorization{}, err
	}
	verifier := oauth2.GenerateVerifier()
	k := stateKey(state)
	now := s.now().UTC()
	pending := pendingAuthorization{
		Provider: pr.id, Org: p.Org, Partner: partner, User: p.Subject,
		SealedVerifier: s.box.Seal([]byte(verifier), verifierContext(k)),
		RedirectURL:    redirect, CreatedAt: now, ExpiresAt: now.Add(StateTTL),
	}
	it, err := pending.item(k)
	if err != nil {
		return Authorization{}, err
	}
	if err := s.table.Write(ctx, storage.Put(it, storage.Absent())); err != nil {
		return Authorization{}, fmt.Errorf("sourcecontrol: store state: %w", err)
	}
	return Authorization{
		Provider:     pr.id,
		AuthorizeURL: pr.oauth(redirect).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)),
		ExpiresAt:    pending.ExpiresAt,
	}, nil
}

// Callback error codes, sent to the front end as ?error=<code>.
const (
	CodeAccessDenied          = "access_denied"           // the person declined at the provider
	CodeAuthorizationFailed   = "authorization_failed"    // the provider sent another OAuth error
	CodeInvalidState          = "invalid_state"           // unknown, used or expired state
	CodeMissingCode           = "missing_code"            // a callback without a code
	CodeProviderNotConfigured = "provider_not_configured" // configuration removed mid-flow
	CodeTokenExchangeFailed   = "token_exchange_failed"   // the token endpoint refused the code
	CodeProviderUnavailable   = "provider_unavailable"    // 5xx or no answer in time, after the retry
	CodeAccountLookupFailed   = "account_lookup_failed"   // the identity endpoint refused the token
	CodeUserRemoved           = "user_removed"            // the person who started is no longer a user
	CodeServer                = "server_error"            // the hub failed; nothing was connected
)

// CallbackError is a failed callback: Code goes to the front end, Err to
// the log.
type CallbackError struct {
	Code string
	Err  error
}

func (e *CallbackError) Error() string {
	if e.Err == nil {
		return "sourcecontrol: callback: " + e.Code
	}
	return "sourcecontrol: callback: " + e.Code + ": " + e.Err.Error()
}

func (e *CallbackError) Unwrap() error { return e.Err }

func callbackError(code string, err error) *CallbackError {
	return &CallbackError{Code: code, Err: err}
}

// CallbackInput is the provider's redirect back: code and state, or an
// OAuth error and state.
type CallbackInput struct {
	State string
	Code  string
	Error string
}

// maxCodeLength bounds the authorization code accepted from the query.
const maxCodeLength = 2048

// Callback completes a sign-in. The state is looked up by its hash and
// consumed by a conditional delete before the code is used, so a state
// works once even when two callbacks race; the connection's key comes from
// the stored state only, never from the request. Every failure is a
// *CallbackError and leaves the connection as it was.
func (s *Service) Callback(ctx context.Context, in CallbackInput) (ProviderID, error) {
	if len(in.State) != stateLength {
		return "", callbackError(CodeInvalidState, nil)
	}
	k := stateKey(in.State)
	it, err := s.table.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return "", callbackError(CodeInvalidState, nil)
	}
	if err != nil {
		return "", callbackError(CodeServer, fmt.Errorf("read state: %w", err))
	}
	pending, err := pendingFromItem(it)
	if err != nil {
		return "", callbackError(CodeServer, err)
	}
	if !s.now().Before(pending.ExpiresAt) {
		return "", callbackError(CodeInvalidState, errors.New("state expired"))
	}
	if err := s.table.Write(ctx, storage.Delete(k, storage.VersionIs(it.Version))); err != nil {
		if errors.Is(err, storage.ErrConditionFailed) {
			return "", callbackError(CodeInvalidState, errors.New("state consumed by a concurrent callback"))
		}
		return "", callbackError(CodeServer, fmt.Errorf("consume state: %w", err))
	}
	switch {
	case in.Error == "access_denied":
		return pending.Provider, callbackError(CodeAccessDenied, nil)
	case in.Error != "":
		return pending.Provider, callbackError(CodeAuthorizationFailed, fmt.Errorf("provider error %.64q", in.Error))
	case in.Code == "" || len(in.Code) > maxCodeLength:
		return pending.Provider, callbackError(CodeMissingCode, nil)
	}
	pr, ok := s.providers[pending.Provider]
	if !ok {
		return pending.Provider, callbackError(CodeProviderNotConfigured, nil)
	}
	verifier, err := s.box.Open(pending.SealedVerifier, verifierContext(k))
	if err != nil {
		return pr.id, callbackError(CodeServer, fmt.Errorf("open verifier: %w", err))
	}
	tok, err := s.exchange(ctx, pr, pending.RedirectURL, in.Code, string(verifier))
	if err != nil {
		return pr.id, err
	}
	acct, err := fetchAccount(ctx, s.client, pr, tok)
	if err != nil {
		code := CodeAccountLookupFailed
		var f *providerFailure
		if errors.As(err, &f) && f.transient() {
			code = CodeProviderUnavailable
		}
		return pr.id, callbackError(code, err)
	}
	c := Connection{
		Org: pending.Org, Partner: pending.Partner, Provider: pr.id,
		AccountLogin: acct.Login, AccountID: acct.ID, Scopes: grantedScopes(tok, pr.config.Scopes),
		ConnectedAt: s.now().UTC(), ConnectedBy: pending.User, Token: tok,
	}
	if err := s.replace(ctx, c); err != nil {
		return pr.id, err
	}
	return pr.id, nil
}

// maxExchangeAttempts: one retry at most. The authorization code is single
// use at the provider, so only a failure that may have left it unspent is
// retried: a 5xx, or no answer in time. A 4xx (invalid_grant, a wrong
// verifier, a bad client) is final. Retrying after a timeout whose request
// did reach the provider costs nothing: the code is then spent, the retry
// gets invalid_grant, and RFC 6749 §4.1.2 lets the provider revoke what it
// issued for that code, tokens the hub never received.
const maxExchangeAttempts = 2

func (s *Service) exchange(ctx context.Context, pr provider, redirectURL, code, verifier string) (*oauth2.Token, error) {
	conf := pr.oauth(redirectURL)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.client)
	var failure *providerFailure
	for attempt := 1; attempt <= maxExchangeAttempts; attempt++ {
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err == nil {
			return tok, nil
		}
		failure = classify("token", err)
		if !failure.transient() || ctx.Err() != nil {
			break
		}
	}
	if failure.transient() {
		return nil, callbackError(CodeProviderUnavailable, failure)
	}
	return nil, callbackError(CodeTokenExchangeFailed, failure)
}

// grantedScopes are the scopes the token endpoint says it granted ("scope",
// or Bitbucket's "scopes"), else the ones asked for.
func grantedScopes(tok *oauth2.Token, requested []string) []string {
	for _, field := range []string{"scope", "scopes"} {
		if v, ok := tok.Extra(field).(string); ok && strings.TrimSpace(v) != "" {
			return splitScopes(v)
		}
	}
	return append([]string{}, requested...)
}

// maxReplaceAttempts bounds the optimistic-lock loop of a reconnect racing
// another reconnect or a disconnect.
const maxReplaceAttempts = 3

// replace writes c over the current connection, one version up, in the same
// write as checks that the user who started (and their partner
// organization) still exist.
func (s *Service) replace(ctx context.Context, c Connection) error {
	k := c.key()
	for attempt := 0; attempt < maxReplaceAttempts; attempt++ {
		version, cond := int64(0), storage.Absent()
		current, err := s.table.Get(ctx, k)
		switch {
		case err == nil:
			version, cond = current.Version, storage.VersionIs(current.Version)
		case !errors.Is(err, storage.ErrNotFound):
			return callbackError(CodeServer, fmt.Errorf("read connection: %w", err))
		}
		it, err := c.item(s.box, version+1)
		if err != nil {
			return callbackError(CodeServer, err)
		}
		ops := []storage.Op{storage.Put(it, cond), storage.Check(keys.User(c.Org, c.ConnectedBy), storage.Present())}
		if c.Partner != "" {
			ops = append(ops, storage.Check(keys.Partner(c.Org, c.Partner), storage.Present()))
		}
		err = s.table.Write(ctx, ops...)
		switch {
		case err == nil:
			return nil
		case storage.FailedOn(err, 0), errors.Is(err, storage.ErrConflict):
			continue
		case errors.Is(err, storage.ErrConditionFailed):
			return callbackError(CodeUserRemoved, err)
		}
		return callbackError(CodeServer, fmt.Errorf("write connection: %w", err))
	}
	return callbackError(CodeServer, errors.New("connection kept changing"))
}

// Landing is the front-end URL the callback sends the browser to.
func (s *Service) Landing(connected ProviderID, errorCode string) string {
	q := url.Values{}
	if errorCode != "" {
		q.Set("error", errorCode)
	} else {
		q.Set("connected", string(connected))
	}
	return s.frontEnd + FrontEndPath + "?" + q.Encode()
}

// Disconnect removes the caller's connection at the version they read.
// The provider's grant stays until revoked there; the hub no longer holds
// its tokens.
func (s *Service) Disconnect(ctx context.Context, p principal.Principal, version int64) error {
	partner, err := scopeOf(p)
	if err != nil {
		return err
	}
	// One conditional delete; only when its condition fails is the
	// connection read, to tell no connection (404) from a stale version.
	k := keys.SourceConnection(p.Org, partner)
	err = s.table.Write(ctx, storage.Delete(k, storage.VersionIs(version)))
	if !errors.Is(err, storage.ErrConditionFailed) {
		if err != nil {
			return fmt.Errorf("sourcecontrol: disconnect: %w", err)
		}
		return nil
	}
	if _, err := s.table.Get(ctx, k); errors.Is(err, storage.ErrNotFound) {
		return errNotConnected
	} else if err != nil {
		return fmt.Errorf("sourcecontrol: read connection: %w", err)
	}
	return errStale
}

// Connection is an organization's (partner "") or a partner's connection
// with its tokens opened, for the hub's own calls to the provider. It is
// never a response.
func (s *Service) Connection(ctx context.Context, org, partner string) (Connection, error) {
	k := keys.SourceConnection(org, partner)
	it, err := s.table.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return Connection{}, errNotConnected
	}
	if err != nil {
		return Connection{}, fmt.Errorf("sourcecontrol: read connection: %w", err)
	}
	c, rec, err := connectionFromItem(org, it)
	if err != nil {
		return Connection{}, err
	}
	if c.Token, err = openToken(s.box, k, rec); err != nil {
		return Connection{}, err
	}
	return c, nil
}
