package sourcecontrol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// account is the provider account the access token belongs to.
type account struct {
	Login string
	ID    string
}

// providerFailure is why a call to a provider failed, in terms that are
// safe to log: never a response body, a code or a token.
type providerFailure struct {
	Step      string // "token" or "account"
	Status    int    // HTTP status, 0 when there was no answer
	OAuthCode string // the token endpoint's "error" value, if any
	Timeout   bool
	Err       error
}

func (f *providerFailure) Error() string {
	switch {
	case f.Timeout:
		return fmt.Sprintf("sourcecontrol: %s endpoint timed out", f.Step)
	case f.Status != 0 && f.OAuthCode != "":
		return fmt.Sprintf("sourcecontrol: %s endpoint answered %d %s", f.Step, f.Status, f.OAuthCode)
	case f.Status != 0:
		return fmt.Sprintf("sourcecontrol: %s endpoint answered %d", f.Step, f.Status)
	case f.Err != nil:
		return fmt.Sprintf("sourcecontrol: %s endpoint: %v", f.Step, f.Err)
	}
	return "sourcecontrol: " + f.Step + " endpoint failed"
}

// transient reports whether a second attempt might succeed: no answer in
// time, or a server error.
func (f *providerFailure) transient() bool { return f.Timeout || f.Status == 0 || f.Status >= 500 }

// maxLoggedErrorCode bounds the provider's error value kept for the log.
const maxLoggedErrorCode = 64

// classify turns an error of x/oauth2 or of the HTTP client into a
// providerFailure without keeping the error itself when it may quote the
// provider's answer (oauth2.RetrieveError carries the response body).
func classify(step string, err error) *providerFailure {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		f := &providerFailure{Step: step, OAuthCode: re.ErrorCode}
		if len(f.OAuthCode) > maxLoggedErrorCode {
			f.OAuthCode = f.OAuthCode[:maxLoggedErrorCode]
		}
		if re.Response != nil {
			f.Status = re.Response.StatusCode
		}
		if f.Status == 0 {
			f.Status = http.StatusBadRequest
		}
		return f
	}
	var ne net.Error
	msg := err.Error()
	timedOut := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) ||
		strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "deadline exceeded")
	switch {
	case timedOut:
		return &providerFailure{Step: step, Timeout: true}
	case strings.HasPrefix(msg, "oauth2: cannot fetch token:"):
		// The answer broke off while it was read.
		return &providerFailure{Step: step, Err: errors.New("answer cut short")}
	case strings.HasPrefix(msg, "oauth2: "):
		// A 2xx answer without an access token, or one that does not
		// parse: the provider did answer, so the code is spent.
		return &providerFailure{Step: step, Status: http.StatusOK, OAuthCode: "malformed_token_response"}
	}
	return &providerFailure{Step: step, Err: errors.New("no answer")}
}

// maxIdentityBody caps the identity answer read.
const maxIdentityBody = 1 << 20

// fetchAccount asks the provider who the access token belongs to.
func fetchAccount(ctx context.Context, client *http.Client, p provider, tok *oauth2.Token) (account, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.config.UserURL, nil)
	if err != nil {
		return account{}, &providerFailure{Step: "account", Err: errors.New("bad user URL")}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "integration-hub")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := client.Do(req)
	if err != nil {
		return account{}, classify("account", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIdentityBody))
	if err != nil {
		return account{}, classify("account", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return account{}, &providerFailure{Step: "account", Status: resp.StatusCode}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return account{}, &providerFailure{Step: "account", Status: resp.StatusCode, OAuthCode: "malformed_account"}
	}
	a := account{ID: scalarString(fields[p.idField])}
	for _, f := range p.loginFields {
		if a.Login = scalarString(fields[f]); a.Login != "" {
			break
		}
	}
	if a.Login == "" {
		return account{}, &providerFailure{Step: "account", Status: resp.StatusCode, OAuthCode: "account_without_login"}
	}
	return a, nil
}

// scalarString shows a JSON string or number; anything else is "".
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	}
	return ""
}
