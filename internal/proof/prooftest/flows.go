package prooftest

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/integration-hub/hub/internal/sourcecontrol"
)

// flow is how FindAccepted reaches an accepted request of a route that no
// sample body can reach: the steps a client takes first, and the accepted
// answer when it is not a 2xx.
type flow struct {
	// prepare takes the earlier steps through do as req's caller and
	// returns the request to send (an error: the caller cannot take them).
	prepare func(do func(Request) Response, req Request) (Request, error)
	// accepted tells the route's accepted answer; nil is a status below
	// 300.
	accepted func(Response) bool
}

func (f flow) accepts(r Response) bool {
	if f.accepted != nil {
		return f.accepted(r)
	}
	return r.Status < 300
}

// flows are the routes whose accepted request needs a connected source
// control account, by route key: the callback needs the state and code of
// a real sign-in, and disconnecting needs a connection.
var flows = map[string]flow{
	http.MethodGet + " " + sourcecontrol.CallbackPath: {prepare: signedIn, accepted: landedConnected},
	"DELETE /source-control":                          {prepare: connected},
}

// signedIn makes req the browser's return from a sign-in that req's caller
// started: the callback with the provider's code and the state.
func signedIn(do func(Request) Response, req Request) (Request, error) {
	back, err := connect(do, req.Caller)
	if err != nil {
		return req, err
	}
	req.Path = back.Path + "?" + back.RawQuery
	// The browser comes back from the provider without the hub's
	// credential: the callback is public, authorized by its state.
	req.Caller = Anonymous
	return req, nil
}

// connected connects req's caller's organization (or partner
// organization) and leaves req as it is.
func connected(do func(Request) Response, req Request) (Request, error) {
	back, err := connect(do, req.Caller)
	if err != nil {
		return req, err
	}
	if resp := do(Request{Method: http.MethodGet, Path: back.Path + "?" + back.RawQuery, Caller: Anonymous}); !landedConnected(resp) {
		return req, errors.New("callback " + resp.Summary() + " to " + resp.Header.Get("Location"))
	}
	return req, nil
}

// connect starts a sign-in to GitHub as caller and signs in at the
// provider; it answers where the provider sends the browser back.
func connect(do func(Request) Response, caller Credential) (*url.URL, error) {
	resp := do(Request{Method: http.MethodPost, Path: "/source-control/connect", Caller: caller,
		Body: JSONBody(map[string]string{"provider": string(sourcecontrol.GitHub)})})
	if resp.Status != http.StatusOK {
		return nil, errors.New("connect " + resp.Summary())
	}
	return signIn(resp.Field("authorize_url"))
}

// landedConnected reports whether a callback sent the browser to the front
// end's Source Control page as connected (a refused callback redirects
// there too, with ?error=).
func landedConnected(r Response) bool {
	if r.Status != http.StatusSeeOther {
		return false
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	return err == nil && loc.Path == sourcecontrol.FrontEndPath &&
		loc.Query().Get("connected") != "" && !loc.Query().Has("error")
}
