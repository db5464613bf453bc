// Package sestest helps tests that send email through SES: Proxy stands in
// front of the aws-ses-v2-local emulator and answers chosen requests with
// SES's own error responses (the emulator never fails), and Inbox reads what
// the emulator received.
package sestest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Fault is an answer the proxy gives instead of the emulator's. A zero
// Status drops the connection without an answer.
type Fault struct {
	Status  int
	Code    string
	Message string
}

// Faults as SES's v1 (query) API reports them.
var (
	Throttled       = Fault{Status: http.StatusBadRequest, Code: "Throttling", Message: "Maximum sending rate exceeded."}
	DailyQuota      = Fault{Status: http.StatusBadRequest, Code: "Throttling", Message: "Daily message quota exceeded."}
	Rejected        = Fault{Status: http.StatusBadRequest, Code: "MessageRejected", Message: "Email address is not verified. The following identities failed the check in region US-EAST-1: the recipient"}
	DomainNotReady  = Fault{Status: http.StatusBadRequest, Code: "MailFromDomainNotVerifiedException", Message: "The MAIL FROM domain is not verified."}
	InvalidAddress  = Fault{Status: http.StatusBadRequest, Code: "InvalidParameterValue", Message: "Missing final '@domain'"}
	AccessDenied    = Fault{Status: http.StatusForbidden, Code: "AccessDenied", Message: "User is not authorized to perform ses:SendEmail"}
	Unavailable     = Fault{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", Message: "Service is unavailable."}
	BadGateway      = Fault{Status: http.StatusBadGateway}
	ConnectionReset = Fault{}
)

// Proxy forwards SES requests to the emulator, except those it was told to
// fail. Requests are told apart by their first recipient.
type Proxy struct {
	// URL is the endpoint to give the SES client.
	URL string

	mu       sync.Mutex
	next     map[string][]Fault
	always   map[string]Fault
	attempts map[string]int
	sent     []url.Values
}

// NewProxy starts a proxy in front of the emulator at upstream, stopped when
// the test ends.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("sestest: upstream %q: %v", upstream, err)
	}
	p := &Proxy{next: map[string][]Fault{}, always: map[string]Fault{}, attempts: map[string]int{}}
	forward := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		fault, failed := p.answer(form)
		if !failed {
			forward.ServeHTTP(w, r)
			return
		}
		if fault.Status == 0 {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		if fault.Code == "" {
			http.Error(w, "<html><body>Bad Gateway</body></html>", fault.Status)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(fault.Status)
		fmt.Fprint(w, errorResponse(fault))
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// FailNext answers the next requests to recipient with faults, one each, in
// order; later requests go through.
func (p *Proxy) FailNext(recipient string, faults ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := strings.ToLower(recipient)
	p.next[key] = append(p.next[key], faults...)
}

// FailAlways answers every request to recipient with fault.
func (p *Proxy) FailAlways(recipient string, fault Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.always[strings.ToLower(recipient)] = fault
}

// Clear lets the requests to recipient through again.
func (p *Proxy) Clear(recipient string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := strings.ToLower(recipient)
	delete(p.next, key)
	delete(p.always, key)
}

// Requests counts every SendEmail request, failed or not.
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := 0
	for _, n := range p.attempts {
		total += n
	}
	return total
}

// Attempts counts the SendEmail requests to recipient, failed or not.
func (p *Proxy) Attempts(recipient string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts[strings.ToLower(recipient)]
}

// Forwarded are the SendEmail requests passed to the emulator, as forms.
// The emulator keeps only the first address of each list; the forms have
// them all.
func (p *Proxy) Forwarded() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.sent...)
}

func (p *Proxy) answer(form url.Values) (Fault, bool) {
	if form.Get("Action") != "SendEmail" {
		return Fault{}, false
	}
	key := strings.ToLower(form.Get("Destination.ToAddresses.member.1"))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts[key]++
	if fault, ok := p.always[key]; ok {
		return fault, true
	}
	if queue := p.next[key]; len(queue) > 0 {
		p.next[key] = queue[1:]
		return queue[0], true
	}
	p.sent = append(p.sent, form)
	return Fault{}, false
}

func errorResponse(f Fault) string {
	type errorBody struct {
		Type    string
		Code    string
		Message string
	}
	doc := struct {
		XMLName   xml.Name `xml:"http://ses.amazonaws.com/doc/2010-12-01/ ErrorResponse"`
		Error     errorBody
		RequestID string `xml:"RequestId"`
	}{Error: errorBody{Type: "Sender", Code: f.Code, Message: f.Message}, RequestID: "sestest-fault"}
	if f.Status >= 500 {
		doc.Error.Type = "Receiver"
	}
	out, _ := xml.Marshal(doc)
	return xml.Header + string(out)
}

// Email is a message as the emulator stores it.
type Email struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Destination struct {
		To  []string `json:"to"`
		Cc  []string `json:"cc"`
		Bcc []string `json:"bcc"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
	At int64 `json:"at"`
}

// Inbox is every message the emulator at endpoint received.
func Inbox(t testing.TB, endpoint string) []Email {
	t.Helper()
	resp, err := http.Get(endpoint + "/store")
	if err != nil {
		t.Fatalf("sestest: read the emulator's store: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sestest: GET /store: %s", resp.Status)
	}
	var store struct {
		Emails []Email `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatalf("sestest: decode the emulator's store: %v", err)
	}
	return store.Emails
}

// SentTo is the emulator's messages whose first recipient is address
// (compared without case): tests share the emulator, so each gives its
// messages addresses of its own.
func SentTo(t testing.TB, endpoint, address string) []Email {
	t.Helper()
	var mine []Email
	for _, e := range Inbox(t, endpoint) {
		if len(e.Destination.To) > 0 && strings.EqualFold(e.Destination.To[0], address) {
			mine = append(mine, e)
		}
	}
	return mine
}
