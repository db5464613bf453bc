package marketplace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/localstack"
	"github.com/integration-hub/hub/internal/marketplace"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/template"
)

// stack is the whole hub on the embedded table behind an HTTP listener on
// a free loopback port, with one organization whose SaaS signs HS256
// tokens, and one published integration.
type stack struct {
	t           *testing.T
	st          *localstack.Stack
	url         string
	org         string
	secret      string
	integration string
}

const stackIssuer = "https://saas.acme.example"

func openStack(t *testing.T, marketplaceURL string) *stack {
	t.Helper()
	st, err := localstack.Open(context.Background(), localstack.Config{
		DataDir: t.TempDir(), BaseURL: "http://hub.test", Sender: "hub@hub.test",
		LogOutput: io.Discard, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	srv := httptest.NewServer(st.Gateway)
	t.Cleanup(srv.Close)
	s := &stack{t: t, st: st, url: srv.URL, org: "browser-org"}
	ctx := context.Background()
	org := orgs.Organization{ID: s.org, Name: "Acme", Plan: principal.Standard, CreatedAt: time.Now(), MarketplaceURL: marketplaceURL}
	item, err := org.Item(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Deps.Table.Write(ctx, storage.Put(item, storage.Absent())); err != nil {
		t.Fatal(err)
	}
	// The settings are made with the stack's own keyring, as the
	// marketplace function would.
	svc := marketplace.New(st.Deps.Table, st.Deps.Keys, time.Now)
	admin := principal.Principal{Kind: principal.HubUser, Org: s.org, Subject: "admin", Plan: principal.Standard}
	if _, _, err := svc.UpdateRules(ctx, admin, 0, marketplace.RulesInput{Issuer: stackIssuer}); err != nil {
		t.Fatal(err)
	}
	secret, _, err := svc.CreateSecret(ctx, admin, 1, marketplace.SecretInput{})
	if err != nil {
		t.Fatal(err)
	}
	s.secret = secret.Secret
	name, description, published := "Everyone Mail", "Send your records to every mailbox.", true
	d, _, err := (&integrations.Service{Table: st.Deps.Table, Now: time.Now}).CreateIntegration(ctx, admin,
		integrations.IntegrationInput{Name: &name, Description: &description, Published: &published})
	if err != nil {
		t.Fatal(err)
	}
	s.integration = d.ID
	return s
}

func (s *stack) token(claims jwt.MapClaims) string {
	s.t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iss": stackIssuer, "sub": "browser-user", "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(s.secret))
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func (s *stack) do(method, path, token string, body string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// itemsOf counts the organization's items and the end-user's partition.
func (s *stack) itemsOf(endUser string) int {
	s.t.Helper()
	n := 0
	for _, pk := range []string{keys.OrgPK(s.org), keys.EndUserTenantsPK(s.org, endUser)} {
		page, err := s.st.Deps.Table.Query(context.Background(), storage.Query{PK: pk, Limit: storage.MaxPageSize})
		if err != nil {
			s.t.Fatal(err)
		}
		n += len(page.Items)
	}
	return n
}

// The deployed path, through the local stack's gateway and authorizer:
// refused tokens are answered 401 (the authorizer hands on its refusal,
// the function answers) and leave the table as it was; a request without
// a token is the gateway's own 401; a valid one installs.
func TestMarketplaceTokensThroughTheLocalStack(t *testing.T) {
	s := openStack(t, "https://app.acme.example/integrations")
	install := `{"integration_id":"` + s.integration + `"}`
	before := s.itemsOf("browser-user")
	now := time.Now()
	for name, tok := range map[string]string{
		"expired":          s.token(jwt.MapClaims{"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-10 * time.Minute).Unix()}),
		"wrong issuer":     s.token(jwt.MapClaims{"iss": "https://evil.example"}),
		"over the maximum": s.token(jwt.MapClaims{"exp": now.Add(3 * time.Hour).Unix()}),
		"not yet valid":    s.token(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()}),
		"over 8 KiB":       s.token(jwt.MapClaims{"pad": strings.Repeat("p", 9000)}),
	} {
		if status, body := s.do("POST", "/marketplace/tenants", tok, install); status != http.StatusUnauthorized || !strings.Contains(body, `"code":"invalid_credential"`) {
			t.Errorf("%s: %d %s, want 401 invalid_credential", name, status, body)
		}
	}
	if status, _ := s.do("POST", "/marketplace/tenants", "", install); status != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", status)
	}
	if after := s.itemsOf("browser-user"); after != before {
		t.Fatalf("refused requests wrote %d items", after-before)
	}
	if status, body := s.do("POST", "/marketplace/tenants", s.token(nil), install); status != http.StatusCreated {
		t.Fatalf("valid token: %d %s", status, body)
	}
	if status, body := s.do("GET", "/marketplace/integrations", s.token(nil), ""); status != 200 || !strings.Contains(body, `"status":"installed"`) {
		t.Fatalf("catalog: %d %s", status, body)
	}
}

// browserTools finds Debian's Chromium, node and playwright-core (installed
// by make test); without them the test is skipped, or fails in CI.
func browserTools(t *testing.T) (node, script string) {
	t.Helper()
	tm, err := template.Find()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(tm), "infra", "browser")
	script = filepath.Join(dir, "marketplace.mjs")
	var missing []string
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = append(missing, "/usr/bin/chromium (apt-get install chromium)")
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core (cd infra/browser && npm ci)")
	}
	if len(missing) > 0 {
		msg := "the browser test needs " + strings.Join(missing, ", ") + "; `make test` installs them"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node, script
}

// hostPage is a SaaS page on its own origin that frames the marketplace
// and records the messages the hub's origin sends it.
func hostPage(title, frameSrc, hubOrigin string) string {
	return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>` + html.EscapeString(title) + `</title></head>
<body><h1>` + html.EscapeString(title) + `</h1>
<iframe id="marketplace" title="Integrations" width="820" height="200" src="` + html.EscapeString(frameSrc) + `"></iframe>
<script>
window.hubMessages = [];
window.addEventListener("message", function (e) {
  if (e.origin !== ` + jsString(hubOrigin) + `) { return; }
  window.hubMessages.push(e.data);
  if (e.data && e.data.type === "integration-hub:height") {
    document.getElementById("marketplace").height = String(e.data.height + 4);
  }
});
</script></body></html>`
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

type browserResult struct {
	Steps             []string         `json:"steps"`
	Console           []string         `json:"console"`
	HostMessages      []map[string]any `json:"hostMessages"`
	Status            string           `json:"status"`
	FocusAfterInstall string           `json:"focusAfterInstall"`
	IframeHeight      float64          `json:"iframeHeight"`
	FrameURL          string           `json:"frameURL"`
	Error             string           `json:"error"`
	// Logo is the first integration's <img> once loaded (Failed: it
	// could not be).
	Logo struct {
		Src    string  `json:"src"`
		Alt    *string `json:"alt"`
		Width  int     `json:"width"`
		Failed bool    `json:"failed"`
	} `json:"logo"`
	// The refused install: the alert's text, where the focus went, and
	// whether its button is still there to try again.
	ErrorText             string `json:"errorText"`
	FocusAfterError       string `json:"focusAfterError"`
	RefusedStillAvailable bool   `json:"refusedStillAvailable"`
	AlertsAfterUninstall  int    `json:"alertsAfterUninstall"`
	// Posted is every postMessage the framed page made, recorded in front
	// of its window.parent before its scripts ran (nil: no record).
	Posted *struct {
		Installed bool     `json:"installed"`
		Targets   []string `json:"targets"`
		Messages  []string `json:"messages"`
	} `json:"posted"`
	// UnrecordedHostMessages are messages the host received that the
	// recorder did not see.
	UnrecordedHostMessages []string `json:"unrecordedHostMessages"`
	Attacker               struct {
		CSPViolation        bool             `json:"cspViolation"`
		FrameURL            string           `json:"frameURL"`
		FrameHasMarketplace bool             `json:"frameHasMarketplace"`
		Messages            []map[string]any `json:"messages"`
	} `json:"attacker"`
}

// logoPNG is a small opaque PNG for an integration's logo.
func logoPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			img.Set(x, y, color.RGBA{R: 0x1f, G: 0x6f, B: 0xeb, A: 0xff})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The browser test: a host page on another local origin frames the
// marketplace with a signed token; the end-user sees the integration's
// logo, installs it, sees it move to installed, the host page receives the
// postMessage; installing a second one past the token's allowed_installs is
// refused and the page says so in words; a screenshot is taken; every
// message the page posts targets the host's origin and nothing else; a page
// on a third origin cannot frame it.
func TestTheMarketplacePageInARealBrowser(t *testing.T) {
	node, script := browserTools(t)
	// The pages are set once the servers' addresses are known; a request
	// may come before (a browser of an earlier run retrying a port this
	// run reuses), so the handlers load them atomically and answer an
	// empty page until then.
	var hostHTML, attackerHTML atomic.Pointer[string]
	serve := func(html *atomic.Pointer[string]) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if p := html.Load(); p != nil {
				_, _ = io.WriteString(w, *p)
			}
		}
	}
	host := httptest.NewServer(serve(&hostHTML))
	defer host.Close()
	attacker := httptest.NewServer(serve(&attackerHTML))
	defer attacker.Close()
	// The logo is served over https, which the page's img-src allows.
	logoBytes := logoPNG(t)
	var logoFetches atomic.Int32
	logoServer := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/everyone-mail.png" {
			http.NotFound(w, r)
			return
		}
		logoFetches.Add(1)
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(logoBytes)
	}))
	// The browser may try the self-signed certificate before it is told
	// to accept it; the handshake errors are noise.
	logoServer.Config.ErrorLog = log.New(io.Discard, "", 0)
	logoServer.StartTLS()
	defer logoServer.Close()
	logoURL := logoServer.URL + "/everyone-mail.png"

	s := openStack(t, host.URL+"/settings/integrations")
	ctx := context.Background()
	admin := principal.Principal{Kind: principal.HubUser, Org: s.org, Subject: "admin", Plan: principal.Standard}
	catalog := &integrations.Service{Table: s.st.Deps.Table, Now: time.Now}
	_, version, err := catalog.GetIntegration(ctx, admin, s.integration)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := catalog.UpdateIntegration(ctx, admin, s.integration, version, integrations.IntegrationInput{LogoURL: &logoURL}); err != nil {
		t.Fatal(err)
	}
	refusedName, published := "Team Chat", true
	if _, _, err := catalog.CreateIntegration(ctx, admin, integrations.IntegrationInput{Name: &refusedName, Published: &published}); err != nil {
		t.Fatal(err)
	}
	// The token allows one install: the second is refused.
	frameSrc := s.url + marketplace.PagePath + "?tenant=" + s.token(jwt.MapClaims{"xti": map[string]any{"allowed_installs": 1}})
	hostPageHTML := hostPage("Acme settings", frameSrc, s.url)
	hostHTML.Store(&hostPageHTML)
	// The first load carries the token in its query, as an iframe does: the
	// route's authorizer must read it from there.
	if status, body := s.do("GET", strings.TrimPrefix(frameSrc, s.url), "", ""); status != http.StatusOK {
		t.Fatalf("the page's first load answered %d %s: the authorizer must accept the token of the %s query parameter on %s",
			status, body, marketplace.PageTokenParameter, marketplace.PageRouteKey)
	}
	attackerPageHTML := hostPage("Not Acme", frameSrc, s.url)
	attackerHTML.Store(&attackerPageHTML)

	shot := filepath.Join(t.TempDir(), "marketplace.png")
	cfg, _ := json.Marshal(map[string]string{
		"hostURL": host.URL + "/settings/integrations", "attackerURL": attacker.URL + "/", "hubOrigin": s.url,
		"integration": "Everyone Mail", "refused": refusedName, "screenshot": shot, "userDataDir": t.TempDir(),
	})
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, string(cfg))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res browserResult
	if jerr := json.Unmarshal(out, &res); jerr != nil || err != nil || res.Error != "" {
		t.Fatalf("browser run failed: %v\nresult: %s\nstderr: %s\nerror: %s\nconsole:\n%s", err, out, stderr.String(), res.Error, strings.Join(res.Console, "\n"))
	}
	t.Logf("screenshot of the framed marketplace: %s (steps: %s)", shot, strings.Join(res.Steps, ", "))
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot: %v", err)
	}
	if res.FocusAfterInstall != "Uninstall Everyone Mail" || !strings.Contains(res.Status, "installed") {
		t.Errorf("after installing, focus on %q and status %q", res.FocusAfterInstall, res.Status)
	}
	if alt := res.Logo.Alt; res.Logo.Failed || res.Logo.Width != 16 || res.Logo.Src != logoURL || alt == nil || *alt != "" || logoFetches.Load() == 0 {
		t.Errorf("logo: %+v (alt %v), %d fetches; want %s loaded, 16 px wide, decorative (alt \"\": the card's heading names it)",
			res.Logo, res.Logo.Alt, logoFetches.Load(), logoURL)
	}
	// The refusal in words, not a code or a status number.
	if want := "You have installed as many integrations as you may. Uninstall one to install another."; res.ErrorText != want {
		t.Errorf("the refused install showed %q in its alert, want %q", res.ErrorText, want)
	}
	if res.FocusAfterError != "Install "+refusedName || !res.RefusedStillAvailable {
		t.Errorf("after the refusal, focus on %q, button still enabled: %v", res.FocusAfterError, res.RefusedStillAvailable)
	}
	if res.AlertsAfterUninstall != 0 {
		t.Errorf("the error is still shown after the next action succeeded")
	}
	// postMessage only to the marketplace base URL's origin: every target
	// the page gave, and nothing reached the host around the recorder.
	if res.Posted == nil || !res.Posted.Installed || len(res.Posted.Targets) == 0 {
		t.Errorf("no postMessage record from the framed page (was the recorder in place?): %+v", res.Posted)
	} else {
		for i, target := range res.Posted.Targets {
			if target != host.URL {
				var message string
				if i < len(res.Posted.Messages) {
					message = res.Posted.Messages[i]
				}
				t.Errorf("the page posted %s to target origin %q, want only %q", message, target, host.URL)
			}
		}
	}
	if len(res.UnrecordedHostMessages) > 0 {
		t.Errorf("the host received messages posted around window.parent: %v", res.UnrecordedHostMessages)
	}
	if strings.Contains(res.FrameURL, "tenant=") {
		t.Errorf("the frame's address still carries the token: %s", res.FrameURL)
	}
	kinds := map[string]map[string]any{}
	for _, m := range res.HostMessages {
		kind, _ := m["type"].(string)
		kinds[kind] = m
	}
	if m := kinds["integration-hub:installed"]; m == nil || m["integrationId"] != s.integration || m["tenantId"] == "" {
		t.Errorf("host messages lack the install: %v", res.HostMessages)
	}
	if kinds["integration-hub:uninstalled"] == nil {
		t.Errorf("host messages lack the uninstall: %v", res.HostMessages)
	}
	if h, _ := kinds["integration-hub:height"]["height"].(float64); h <= 0 || res.IframeHeight <= 200 {
		t.Errorf("height %v reported, iframe %v high", h, res.IframeHeight)
	}
	if res.Attacker.FrameHasMarketplace || len(res.Attacker.Messages) > 0 || !(res.Attacker.CSPViolation || strings.HasPrefix(res.Attacker.FrameURL, "chrome-error:")) {
		t.Errorf("another origin framed the marketplace: %+v\nconsole:\n%s", res.Attacker, strings.Join(res.Console, "\n"))
	}
	var created, archived int
	page, err := s.st.Deps.Table.Query(context.Background(), storage.Query{PK: keys.OrgPK(s.org), Sort: storage.SortPrefix, From: "EVENT#", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		ev, err := outbox.FromItem(it)
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case outbox.TenantCreated:
			created++
		case outbox.TenantArchived:
			archived++
		}
	}
	if created != 1 || archived != 1 {
		t.Errorf("events: %d tenant.created, %d tenant.archived", created, archived)
	}
	if n := len(s.itemsOfEndUserTenants("browser-user")); n != 0 {
		t.Errorf("%d live tenants left after uninstalling", n)
	}
}

func (s *stack) itemsOfEndUserTenants(endUser string) []storage.Item {
	page, err := s.st.Deps.Table.Query(context.Background(), storage.Query{PK: keys.EndUserTenantsPK(s.org, endUser), Sort: storage.SortPrefix, From: keys.TenantsPrefix, Limit: 100})
	if err != nil {
		s.t.Fatal(err)
	}
	return page.Items
}
