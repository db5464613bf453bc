// Package localstack assembles the whole hub on one machine: the table
// (embedded bbolt file, or DynamoDB Local), the email sender (an outbox
// folder, or the SES emulator), every function built by internal/app, the
// API Gateway stand-in (internal/gateway) and the change-feed pump that
// drives the notifier. `make run` and the end-to-end tests use it.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/email/sesmail"
	"github.com/integration-hub/hub/internal/gateway"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/dynamo"
	"github.com/integration-hub/hub/internal/storage/dynamo/dynamofeed"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/stream"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/users"
)

// Config of a local stack.
type Config struct {
	// DataDir holds the embedded table, the master key, the outbox and the
	// change feed's position.
	DataDir string
	// BaseURL is where email links point.
	BaseURL string
	// DynamoDBEndpoint and SESEndpoint, when set, replace the embedded table
	// and the outbox folder.
	DynamoDBEndpoint string
	SESEndpoint      string
	Table            string
	Sender           string
	Log              *slog.Logger
	// LogOutput receives the functions' JSON logs (stderr when nil).
	LogOutput io.Writer
	// Hashing overrides the password cost (tests).
	Hashing passwords.Params
}

// Stack is a running hub without its HTTP listener.
type Stack struct {
	Deps    *app.Deps
	Gateway http.Handler
	Pump    *stream.Pump
	// OutboxDir is the folder email is written to, when not using SES.
	OutboxDir        string
	TableDescription string
	EmailDescription string
	closers          []func()
}

// Close releases the table.
func (s *Stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// Open assembles the stack.
func Open(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	tmpl, err := template.Load()
	if err != nil {
		return nil, err
	}
	master, err := secrets.LoadOrCreateFile(filepath.Join(cfg.DataDir, "master.key"))
	if err != nil {
		return nil, err
	}
	keys, err := secrets.NewKeyring(master)
	if err != nil {
		return nil, err
	}
	st := &Stack{}
	d := &app.Deps{Schema: tmpl.Table.Schema, Keys: keys, Links: users.Links{Base: strings.TrimRight(cfg.BaseURL, "/")}, LogOutput: cfg.LogOutput, Hashing: cfg.Hashing}
	st.Deps = d
	if d.SourceControl, err = sourcecontrol.FromEnv(os.Getenv); err != nil {
		return nil, err
	}

	var source stream.Source
	if cfg.DynamoDBEndpoint != "" {
		source, err = st.openDynamoDB(ctx, cfg, tmpl.Table, d)
	} else {
		source, err = st.openEmbedded(cfg, tmpl.Table.Schema, d)
	}
	if err != nil {
		st.Close()
		return nil, err
	}

	if cfg.SESEndpoint != "" {
		client, err := sesmail.NewClient(ctx, cfg.SESEndpoint)
		if err != nil {
			st.Close()
			return nil, err
		}
		d.Sender = sesmail.New(client, cfg.Sender)
		st.EmailDescription = "SES emulator at " + cfg.SESEndpoint + " (inbox: " + cfg.SESEndpoint + "/store)"
	} else {
		st.OutboxDir = filepath.Join(cfg.DataDir, "outbox")
		out, err := email.NewOutbox(st.OutboxDir, cfg.Sender, cfg.Log)
		if err != nil {
			st.Close()
			return nil, err
		}
		d.Sender = out
		st.EmailDescription = "written to " + st.OutboxDir
	}

	filter, err := stream.ParseFilter(tmpl.Table.EventFilter)
	if err != nil {
		st.Close()
		return nil, err
	}
	st.Pump = &stream.Pump{Source: source, Filter: filter, Handler: d.Notifier().Handle, BatchSize: 25, MaxRetries: 5, Log: cfg.Log}

	st.Gateway, err = buildGateway(d, tmpl, cfg.Log)
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func buildGateway(d *app.Deps, tmpl *template.Template, log *slog.Logger) (http.Handler, error) {
	gcfg := gateway.Config{
		Functions:       map[string]gateway.Handler{},
		Log:             log,
		IdentityHeaders: tmpl.Authorizers[tmpl.DefaultAuthorizer].IdentityHeaders,
		Authorizers:     map[string]gateway.Identity{},
	}
	for name, a := range tmpl.Authorizers {
		gcfg.Authorizers[name] = gateway.Identity{Headers: a.IdentityHeaders, QueryStrings: a.IdentityQueryStrings}
	}
	declared := tmpl.Routes()
	for _, name := range app.HTTPFunctionNames() {
		rt, err := d.Router(name)
		if err != nil {
			return nil, err
		}
		h, err := d.HTTPHandler(name)
		if err != nil {
			return nil, err
		}
		gcfg.Functions[name] = h
		for _, r := range rt.Routes() {
			gcfg.Routes = append(gcfg.Routes, gateway.Route{Method: r.Method, Path: r.Path, Function: name, Public: r.Public, Authorizer: declared[r.Key()].Authorizer})
		}
	}
	if tmpl.Authorizer != "" {
		gcfg.Authorizer = d.Authorizer().Handle
	}
	return gateway.New(gcfg)
}

func (st *Stack) openEmbedded(cfg Config, schema storage.Schema, d *app.Deps) (stream.Source, error) {
	path := filepath.Join(cfg.DataDir, "hub.db")
	db, err := embedded.Open(path, schema)
	if err != nil {
		return nil, fmt.Errorf("open %s (is another `make run` using it?): %w", path, err)
	}
	st.closers = append(st.closers, func() { _ = db.Close() })
	d.Table = db
	st.TableDescription = "embedded, " + path
	posFile := filepath.Join(cfg.DataDir, "feed.position")
	feed := db.Feed()
	if pos, err := os.ReadFile(posFile); err == nil && len(strings.TrimSpace(string(pos))) > 0 {
		if feed, err = db.FeedAfter(strings.TrimSpace(string(pos))); err != nil {
			return nil, fmt.Errorf("resume change feed: %w", err)
		}
	}
	return &resumingFeed{feed: feed, posFile: posFile}, nil
}

// resumingFeed records how far the notifier got, so a restart neither
// re-reads the whole feed nor skips what a crash left undelivered: the pump
// handles a poll's records before it polls again, so the position saved at
// each poll is that of records already handled.
type resumingFeed struct {
	feed    *embedded.Feed
	posFile string
}

func (r *resumingFeed) Poll(ctx context.Context) ([]events.DynamoDBEventRecord, error) {
	if pos := r.feed.Position(); pos != "" {
		if err := os.WriteFile(r.posFile, []byte(pos+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	return r.feed.Poll(ctx)
}

func (st *Stack) openDynamoDB(ctx context.Context, cfg Config, tbl template.Table, d *app.Deps) (stream.Source, error) {
	client, err := dynamo.NewClient(ctx, cfg.DynamoDBEndpoint)
	if err != nil {
		return nil, err
	}
	if err := dynamo.CreateTable(ctx, client, cfg.Table, tbl.Schema, tbl.StreamView); err != nil {
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			return nil, fmt.Errorf("create table %s: %w", cfg.Table, err)
		}
	}
	d.Table = dynamo.New(client, cfg.Table, tbl.Schema)
	arn, err := dynamo.LatestStreamArn(ctx, client, cfg.Table)
	if err != nil {
		return nil, err
	}
	streams, err := dynamofeed.NewClient(ctx, cfg.DynamoDBEndpoint)
	if err != nil {
		return nil, err
	}
	st.TableDescription = "DynamoDB Local at " + cfg.DynamoDBEndpoint + ", table " + cfg.Table
	// Like the template's trigger (StartingPosition: TRIM_HORIZON), read the
	// stream from its oldest record; the notifier skips what it delivered.
	return dynamofeed.NewSource(streams, arn, tbl.Schema, true), nil
}

// The demo organization the local stack creates on its first start.
const (
	DemoOrg        = "demo"
	DemoAdminEmail = "admin@demo.example"
)

// Demo says what EnsureDemo found or made.
type Demo struct {
	Created    bool
	OrgID      string
	AdminEmail string
}

// EnsureDemo creates the demo organization and invites its administrator,
// unless it exists.
func (st *Stack) EnsureDemo(ctx context.Context) (Demo, error) {
	demo := Demo{OrgID: DemoOrg, AdminEmail: DemoAdminEmail}
	_, err := st.Deps.Table.Get(ctx, keys.Org(DemoOrg))
	if err == nil {
		return demo, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return demo, fmt.Errorf("look up the demo organization: %w", err)
	}
	_, err = st.Deps.Operator().Handle(ctx, operator.Request{
		Action:       "create_organization",
		Organization: &operator.CreateInput{ID: DemoOrg, Name: "Demo Company", Plan: principal.Standard, AdminEmail: DemoAdminEmail, AdminName: "Demo Admin"},
	})
	if err != nil {
		return demo, fmt.Errorf("create the demo organization: %w", err)
	}
	demo.Created = true
	return demo, st.Pump.Once(ctx)
}
