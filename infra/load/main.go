// Command load puts the local stack under load on DynamoDB Local and checks
// what it promised: no 5xx, and every write it acknowledged is in the
// table afterwards.
//
// It starts DynamoDB Local (or uses -dynamodb, which must be on loopback),
// opens the whole hub in-process (internal/localstack: the API Gateway
// stand-in, the real authorizer and functions, the stream pump and the
// notifier writing email to a folder), serves it on a loopback port,
// creates -orgs organizations whose administrators accept their
// invitations, and runs -clients concurrent clients for -duration or
// -max-requests requests, whichever ends first. Each client mixes reads and
// writes: sign-in, the signed-in user, users (list, invite), company and
// notification settings (read, update with If-Match), and, where the routes
// exist, integrations and tenants (with an API key).
//
//	go run ./infra/load -clients 100 -duration 60s -json build/load/results.json
//
// It prints a summary and writes it as JSON; it exits 1 when a request
// answered 5xx or failed, or an acknowledged write is missing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/emulators"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/localstack"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/proof/readme"
	"github.com/integration-hub/hub/internal/storage"
)

// Config of a run.
type Config struct {
	Clients     int
	Duration    time.Duration
	MaxRequests int64
	Orgs        int
	// DynamoDB is a running DynamoDB Local's endpoint; "" starts one.
	DynamoDB string
	// Addr is where the hub listens (loopback only).
	Addr string
	// Hashing is the password cost; the zero value is the deployed one.
	Hashing passwords.Params
	Log     io.Writer
}

func main() {
	cfg := Config{Log: os.Stderr}
	flag.IntVar(&cfg.Clients, "clients", 100, "concurrent clients")
	flag.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long the clients run")
	flag.Int64Var(&cfg.MaxRequests, "max-requests", 500_000, "the most requests the clients send in all")
	flag.IntVar(&cfg.Orgs, "orgs", 10, "organizations the clients are spread over")
	flag.StringVar(&cfg.DynamoDB, "dynamodb", "", "a running DynamoDB Local's endpoint (loopback); empty starts one")
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "where the hub listens (loopback)")
	jsonOut := flag.String("json", "build/load/results.json", "where the summary is written as JSON (empty: nowhere)")
	readmePath := flag.String("readme", "", "also put the summary in this file, between <!-- load:begin --> and <!-- load:end -->")
	flag.Parse()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	sum.Print(os.Stdout)
	if *jsonOut != "" {
		if err := sum.WriteJSON(*jsonOut); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(2)
		}
		fmt.Printf("\nJSON: %s\n", *jsonOut)
	}
	if *readmePath != "" {
		if err := readme.Replace(*readmePath, "load", sum.Markdown()); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(2)
		}
	}
	if !sum.OK() {
		os.Exit(1)
	}
}

// CheckLoopback refuses an address or URL that is not on a loopback
// interface: the load generator never sends a request elsewhere.
func CheckLoopback(target string) error {
	host := target
	if strings.Contains(target, "://") {
		u, err := url.Parse(target)
		if err != nil {
			return fmt.Errorf("%q is not a URL: %w", target, err)
		}
		host = u.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: the load generator only targets this machine", target)
	}
	return nil
}

// Run sets up the hub and its organizations, runs the clients and checks
// the table.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Clients < 1 || cfg.Orgs < 1 || cfg.MaxRequests < 1 {
		return nil, errors.New("-clients, -orgs and -max-requests must be positive")
	}
	if err := CheckLoopback(cfg.Addr); err != nil {
		return nil, err
	}
	if cfg.DynamoDB == "" {
		fmt.Fprintln(cfg.Log, "starting DynamoDB Local...")
		ddb, err := emulators.StartDynamoDBLocal()
		if err != nil {
			return nil, fmt.Errorf("DynamoDB Local (run `make emulators` first): %w", err)
		}
		defer ddb.Stop()
		cfg.DynamoDB = ddb.Endpoint
	}
	if err := CheckLoopback(cfg.DynamoDB); err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp("", "hub-load-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dataDir)
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	st, err := localstack.Open(ctx, localstack.Config{
		DataDir: dataDir, BaseURL: "http://hub.load", DynamoDBEndpoint: cfg.DynamoDB,
		Table: "load-" + strings.ToLower(time.Now().UTC().Format("20060102t150405.000000")), Sender: "hub@hub.load",
		Log: quiet, LogOutput: io.Discard, Hashing: cfg.Hashing,
	})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: st.Gateway, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	defer srv.Close()
	pumpCtx, stopPump := context.WithCancel(ctx)
	defer stopPump()
	go st.Pump.Run(pumpCtx)

	base := "http://" + l.Addr().String()
	if err := CheckLoopback(base); err != nil {
		return nil, err
	}
	hub := &client{base: base, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients, MaxIdleConns: cfg.Clients}}}
	routes := map[string]bool{}
	for _, name := range app.HTTPFunctionNames() {
		rt, err := st.Deps.Router(name)
		if err != nil {
			return nil, err
		}
		for _, r := range rt.Routes() {
			routes[r.Key()] = true
		}
	}
	fmt.Fprintf(cfg.Log, "creating %d organizations...\n", cfg.Orgs)
	orgs := make([]*org, cfg.Orgs)
	for i := range orgs {
		if orgs[i], err = setUp(ctx, st, hub, routes, i); err != nil {
			return nil, fmt.Errorf("organization %d: %w", i, err)
		}
	}

	ops := mix(routes)
	run := newRun(cfg, ops)
	fmt.Fprintf(cfg.Log, "%d clients for %s (at most %d requests) against %s on DynamoDB Local %s...\n", cfg.Clients, cfg.Duration, cfg.MaxRequests, base, cfg.DynamoDB)
	// At the deadline the clients stop sending, and the requests already
	// out run to their answer: a write cut off by the client could be
	// applied without being acknowledged, and the check counts on knowing.
	deadline := time.Now().Add(cfg.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.client(ctx, deadline, hub, orgs[i%len(orgs)], rand.New(rand.NewPCG(uint64(i), 7)))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	fmt.Fprintln(cfg.Log, "checking the table...")
	return run.summarize(ctx, st.Deps.Table, orgs, elapsed, cfg), nil
}

// client speaks HTTP to the hub.
type client struct {
	base string
	http *http.Client
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (c *client) do(ctx context.Context, method, path, auth, ifMatch string, body any) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	_ = json.NewDecoder(resp.Body).Decode(&r.body)
	return r, nil
}

func (r reply) str(name string) string { s, _ := r.body[name].(string); return s }

// org is one organization of the run and what was acknowledged in it.
type org struct {
	id, adminEmail string
	session        atomic.Value // string
	apiKey         string
	integration    string
	// versions of the settings documents when the clients started.
	companyVersion, notificationsVersion int64
	password                             string
}

const password = "correct horse battery staple"

func setUp(ctx context.Context, st *localstack.Stack, hub *client, routes map[string]bool, i int) (*org, error) {
	o := &org{adminEmail: fmt.Sprintf("admin-%d-%d@load.test", i, time.Now().UnixNano()), password: password}
	created, err := st.Deps.Operator().Handle(ctx, operator.Request{Action: "create_organization",
		Organization: &operator.CreateInput{Name: fmt.Sprintf("Load %d", i), Plan: principal.Standard, AdminEmail: o.adminEmail}})
	if err != nil {
		return nil, err
	}
	o.id = created.Organization.ID
	token, err := invitationToken(ctx, st.Deps, o.id, o.adminEmail)
	if err != nil {
		return nil, err
	}
	r, err := hub.do(ctx, "POST", "/auth/invitations/accept", "", "", map[string]string{"token": token, "name": "Load Admin", "password": password})
	if err != nil || r.status != http.StatusOK {
		return nil, fmt.Errorf("accept the invitation: %d %v %v", r.status, r.body, err)
	}
	session := r.str("token")
	o.session.Store(session)
	if routes["POST /api-keys"] {
		r, err = hub.do(ctx, "POST", "/api-keys", session, "", map[string]any{"name": "load", "scopes": []string{"tenants:read", "tenants:manage", "integrations:read"}})
		if err != nil || r.status != http.StatusCreated {
			return nil, fmt.Errorf("create an API key: %d %v %v", r.status, r.body, err)
		}
		o.apiKey = r.str("key")
	}
	if routes["POST /integrations"] {
		r, err = hub.do(ctx, "POST", "/integrations", session, "", map[string]any{"name": "Load integration", "published": true})
		if err != nil || r.status != http.StatusCreated {
			return nil, fmt.Errorf("create an integration: %d %v %v", r.status, r.body, err)
		}
		o.integration = r.str("id")
	}
	if o.companyVersion, err = version(ctx, st.Deps.Table, keys.Org(o.id)); err != nil {
		return nil, err
	}
	if o.notificationsVersion, err = version(ctx, st.Deps.Table, keys.NotificationSettings(o.id)); err != nil {
		return nil, err
	}
	return o, nil
}

func version(ctx context.Context, t storage.Table, k storage.Key) (int64, error) {
	it, err := t.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	return it.Version, err
}

// invitationToken opens the newest invitation to email in the outbox.
func invitationToken(ctx context.Context, d *app.Deps, orgID, email string) (string, error) {
	page, err := d.Table.Query(ctx, storage.Query{PK: keys.OrgPK(orgID), Sort: storage.SortPrefix, From: "EVENT#", Descending: true, Limit: 100})
	if err != nil {
		return "", err
	}
	box := d.Keys.Box(app.OutboxPurpose)
	for _, it := range page.Items {
		ev, err := outbox.FromItem(it)
		if err != nil || ev.Kind != outbox.Invitation || len(ev.To) != 1 || ev.To[0] != email {
			continue
		}
		link, err := box.Open(ev.Sealed["link"], ev.SealedContext())
		if err != nil {
			return "", err
		}
		u, err := url.Parse(string(link))
		if err != nil {
			return "", err
		}
		v, err := url.ParseQuery(u.Fragment)
		if err != nil {
			return "", err
		}
		return v.Get("token"), nil
	}
	return "", fmt.Errorf("no invitation to %s", email)
}

// op is one kind of request in the mix.
type op struct {
	name   string
	weight int
	// write: the op's 2xx answers are acknowledged writes, checked later.
	write bool
	do    func(ctx context.Context, c *client, o *org, n int64) (status int, ack *ack, err error)
}

// ack is an acknowledged write: the item it must have made, or the
// settings document whose version it raised.
type ack struct {
	key     storage.Key
	raises  storage.Key // a document whose version went up by one
	orgID   string
	created bool
}

func session(o *org) string { return o.session.Load().(string) }

func mix(routes map[string]bool) []op {
	all := []op{
		{"sign in", 2, false, func(ctx context.Context, c *client, o *org, _ int64) (int, *ack, error) {
			r, err := c.do(ctx, "POST", "/auth/login", "", "", map[string]string{"email": o.adminEmail, "password": o.password})
			if err == nil && r.status == http.StatusOK {
				o.session.Store(r.str("token"))
			}
			return r.status, nil, err
		}},
		{"who am I", 10, false, get("/auth/me")},
		{"list users", 20, false, get("/users?limit=50")},
		{"invite a user", 8, true, func(ctx context.Context, c *client, o *org, n int64) (int, *ack, error) {
			r, err := c.do(ctx, "POST", "/users", session(o), "", map[string]string{"email": fmt.Sprintf("u%d-%d@%s.load.test", n, time.Now().UnixNano(), strings.ToLower(o.id))})
			if err != nil || r.status != http.StatusCreated {
				return r.status, nil, err
			}
			return r.status, &ack{key: keys.User(o.id, r.str("id")), created: true}, nil
		}},
		{"read the company", 15, false, get("/company")},
		{"update the company", 4, true, update("/company", "PATCH", func(n int64) any { return map[string]string{"name": fmt.Sprintf("Load %d", n)} }, keys.Org)},
		{"read notification settings", 10, false, get("/notifications")},
		{"replace notification settings", 3, true, update("/notifications", "PUT", func(n int64) any {
			return map[string]any{"events": []map[string]any{{"name": "run.failed", "enabled": n%2 == 0, "addresses": []string{fmt.Sprintf("ops%d@load.test", n%7)}}}}
		}, keys.NotificationSettings)},
		{"list integrations", 8, false, get("/integrations")},
		{"create an integration", 4, true, func(ctx context.Context, c *client, o *org, n int64) (int, *ack, error) {
			r, err := c.do(ctx, "POST", "/integrations", session(o), "", map[string]any{"name": fmt.Sprintf("Integration %d", n)})
			if err != nil || r.status != http.StatusCreated {
				return r.status, nil, err
			}
			return r.status, &ack{key: keys.Integration(o.id, r.str("id")), created: true}, nil
		}},
		{"list tenants (API key)", 5, false, func(ctx context.Context, c *client, o *org, _ int64) (int, *ack, error) {
			r, err := c.do(ctx, "GET", "/v2/tenants?limit=20", o.apiKey, "", nil)
			return r.status, nil, err
		}},
		{"create a tenant (API key)", 4, true, func(ctx context.Context, c *client, o *org, n int64) (int, *ack, error) {
			r, err := c.do(ctx, "POST", "/v2/tenants", o.apiKey, "", map[string]any{"integration_id": o.integration, "end_user_id": fmt.Sprintf("end-user-%d", n)})
			if err != nil || r.status != http.StatusCreated {
				return r.status, nil, err
			}
			return r.status, &ack{key: keys.Tenant(o.id, r.str("id")), created: true}, nil
		}},
	}
	needs := map[string]string{
		"list integrations": "GET /integrations", "create an integration": "POST /integrations",
		"list tenants (API key)": "GET /v2/tenants", "create a tenant (API key)": "POST /v2/tenants",
	}
	var out []op
	for _, o := range all {
		if route, ok := needs[o.name]; ok && !routes[route] {
			continue
		}
		out = append(out, o)
	}
	return out
}

func get(path string) func(ctx context.Context, c *client, o *org, _ int64) (int, *ack, error) {
	return func(ctx context.Context, c *client, o *org, _ int64) (int, *ack, error) {
		r, err := c.do(ctx, "GET", path, session(o), "", nil)
		return r.status, nil, err
	}
}

// update reads a settings document's ETag and sends a change conditional
// on it; a 412 (another client saved first) is a correct answer.
func update(path, method string, body func(n int64) any, doc func(string) storage.Key) func(ctx context.Context, c *client, o *org, n int64) (int, *ack, error) {
	return func(ctx context.Context, c *client, o *org, n int64) (int, *ack, error) {
		r, err := c.do(ctx, "GET", path, session(o), "", nil)
		if err != nil || r.status != http.StatusOK {
			return r.status, nil, err
		}
		r, err = c.do(ctx, method, path, session(o), r.header.Get("ETag"), body(n))
		if err != nil || r.status != http.StatusOK {
			return r.status, nil, err
		}
		return r.status, &ack{raises: doc(o.id), orgID: o.id}, nil
	}
}

// run is the clients' shared state.
type run struct {
	cfg      Config
	ops      []op
	total    int
	sent     atomic.Int64
	mu       sync.Mutex
	stats    map[string]*opStats
	acks     []ack
	failures []string
}

type opStats struct {
	count     int
	byStatus  map[int]int
	errors    int
	latencies []time.Duration
}

func newRun(cfg Config, ops []op) *run {
	r := &run{cfg: cfg, ops: ops, stats: map[string]*opStats{}}
	for _, o := range ops {
		r.total += o.weight
		r.stats[o.name] = &opStats{byStatus: map[int]int{}}
	}
	return r
}

func (r *run) pick(rng *rand.Rand) op {
	n := rng.IntN(r.total)
	for _, o := range r.ops {
		if n < o.weight {
			return o
		}
		n -= o.weight
	}
	return r.ops[len(r.ops)-1]
}

func (r *run) client(ctx context.Context, deadline time.Time, c *client, o *org, rng *rand.Rand) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		n := r.sent.Add(1)
		if n > r.cfg.MaxRequests {
			return
		}
		kind := r.pick(rng)
		start := time.Now()
		status, a, err := kind.do(ctx, c, o, n)
		took := time.Since(start)
		r.mu.Lock()
		s := r.stats[kind.name]
		s.count++
		s.latencies = append(s.latencies, took)
		if err != nil {
			s.errors++
			if len(r.failures) < 20 {
				r.failures = append(r.failures, kind.name+": "+err.Error())
			}
		} else {
			s.byStatus[status]++
		}
		if a != nil {
			r.acks = append(r.acks, *a)
		}
		r.mu.Unlock()
	}
}

// Summary is a run's outcome.
type Summary struct {
	Clients        int                `json:"clients"`
	Organizations  int                `json:"organizations"`
	DurationSec    float64            `json:"duration_seconds"`
	Requests       int                `json:"requests"`
	RequestsPerSec float64            `json:"requests_per_second"`
	ServerErrors   int                `json:"server_errors"`
	ClientErrors   int                `json:"client_errors"`
	Failed         int                `json:"failed_requests"`
	Acknowledged   int                `json:"acknowledged_writes"`
	Verified       int                `json:"verified_writes"`
	Missing        []string           `json:"missing_writes"`
	Operations     []OperationSummary `json:"operations"`
	Failures       []string           `json:"failures,omitempty"`
}

// OperationSummary is one op's figures.
type OperationSummary struct {
	Name     string         `json:"name"`
	Requests int            `json:"requests"`
	ByStatus map[string]int `json:"by_status"`
	Errors   int            `json:"errors"`
	P50ms    float64        `json:"p50_ms"`
	P90ms    float64        `json:"p90_ms"`
	P99ms    float64        `json:"p99_ms"`
}

// OK: no 5xx, no failed request, every acknowledged write found.
func (s *Summary) OK() bool {
	return s.ServerErrors == 0 && s.Failed == 0 && len(s.Missing) == 0 && s.Verified == s.Acknowledged
}

func (r *run) summarize(ctx context.Context, table storage.Table, orgs []*org, elapsed time.Duration, cfg Config) *Summary {
	s := &Summary{Clients: cfg.Clients, Organizations: len(orgs), DurationSec: elapsed.Seconds(), Failures: r.failures}
	for _, o := range r.ops {
		st := r.stats[o.name]
		sort.Slice(st.latencies, func(i, j int) bool { return st.latencies[i] < st.latencies[j] })
		sum := OperationSummary{Name: o.name, Requests: st.count, ByStatus: map[string]int{}, Errors: st.errors,
			P50ms: ms(pct(st.latencies, 0.50)), P90ms: ms(pct(st.latencies, 0.90)), P99ms: ms(pct(st.latencies, 0.99))}
		for code, n := range st.byStatus {
			sum.ByStatus[fmt.Sprint(code)] = n
			switch {
			case code >= 500:
				s.ServerErrors += n
			case code >= 400:
				s.ClientErrors += n
			}
		}
		s.Requests += st.count
		s.Failed += st.errors
		s.Operations = append(s.Operations, sum)
	}
	s.RequestsPerSec = float64(s.Requests) / elapsed.Seconds()

	// Every acknowledged creation is an item; every acknowledged update
	// raised its document's version by exactly one.
	raised := map[storage.Key]int64{}
	for _, a := range r.acks {
		s.Acknowledged++
		if a.created {
			if _, err := table.Get(ctx, a.key); err != nil {
				s.Missing = append(s.Missing, fmt.Sprintf("%s: %v", a.key, err))
				continue
			}
			s.Verified++
			continue
		}
		raised[a.raises]++
	}
	for _, o := range orgs {
		for k, start := range map[storage.Key]int64{keys.Org(o.id): o.companyVersion, keys.NotificationSettings(o.id): o.notificationsVersion} {
			want := start + raised[k]
			got, err := version(ctx, table, k)
			if err != nil || got != want {
				s.Missing = append(s.Missing, fmt.Sprintf("%s: version %d, want %d (%d acknowledged updates from %d): %v", k, got, want, raised[k], start, err))
				continue
			}
			s.Verified += int(raised[k])
		}
	}
	return s
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Print writes the summary as a table.
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "%d clients, %d organizations, %.1f s: %d requests (%.0f/s), %d 5xx, %d 4xx, %d failed\n",
		s.Clients, s.Organizations, s.DurationSec, s.Requests, s.RequestsPerSec, s.ServerErrors, s.ClientErrors, s.Failed)
	fmt.Fprintf(w, "acknowledged writes: %d, found in the table: %d, missing: %d\n\n", s.Acknowledged, s.Verified, len(s.Missing))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\trequests\tstatuses\tp50 ms\tp90 ms\tp99 ms\t")
	for _, o := range s.Operations {
		var codes []string
		for c, n := range o.ByStatus {
			codes = append(codes, fmt.Sprintf("%s×%d", c, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%.1f\t%.1f\t\n", o.Name, o.Requests, strings.Join(codes, " "), o.P50ms, o.P90ms, o.P99ms)
	}
	tw.Flush()
	for _, m := range s.Missing {
		fmt.Fprintln(w, "MISSING:", m)
	}
	for _, f := range s.Failures {
		fmt.Fprintln(w, "FAILED:", f)
	}
}

// Markdown is the summary as a README section.
func (s *Summary) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Produced by `make load` (infra/load) on %s/%s with %d CPUs, %s: %d clients over %d organizations for %.0f s, against the local stack on DynamoDB Local.\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"), s.Clients, s.Organizations, s.DurationSec)
	fmt.Fprintf(&b, "- %d requests (%.0f/s): **%d 5xx**, %d 4xx (lost If-Match races answer 412), %d failed\n", s.Requests, s.RequestsPerSec, s.ServerErrors, s.ClientErrors, s.Failed)
	fmt.Fprintf(&b, "- acknowledged writes: %d; found in the table afterwards: **%d**; missing: %d\n\n", s.Acknowledged, s.Verified, len(s.Missing))
	fmt.Fprintf(&b, "| operation | requests | statuses | p50 ms | p90 ms | p99 ms |\n|---|--:|---|--:|--:|--:|\n")
	for _, o := range s.Operations {
		var codes []string
		for c, n := range o.ByStatus {
			codes = append(codes, fmt.Sprintf("%s×%d", c, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(&b, "| %s | %d | %s | %.1f | %.1f | %.1f |\n", o.Name, o.Requests, strings.Join(codes, " "), o.P50ms, o.P90ms, o.P99ms)
	}
	return b.String()
}

// WriteJSON writes the summary to path, making its folder.
func (s *Summary) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
