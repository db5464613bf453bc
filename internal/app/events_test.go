package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/integration-hub/hub/internal/app"
	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sourcecontrol"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/embedded"
	"github.com/integration-hub/hub/internal/stream"
	"github.com/integration-hub/hub/internal/template"
	"github.com/integration-hub/hub/internal/users"
	"github.com/integration-hub/hub/internal/web"
)

var updateEvents = flag.Bool("update-events", false, "rewrite the generated event files under events/notifier")

// The fixed identities the event files refer to.
const (
	eventsOrg   = "demo"
	eventsAdmin = "01JDEMOADMIN00000000000000"
)

// eventsMaster is the master secret the notifier's event files were sealed
// with; only these tests use it.
var eventsMaster = bytes.Repeat([]byte{42}, 32)

// expected outcome of each event file: an HTTP status for HTTP functions,
// "allow"/"deny" for the authorizer, "ok"/"error" for the operator, the
// number of emails sent for the notifier.
var expected = map[string]string{
	"auth/accept-invitation-bad-token.json":             "400",
	"auth/forgot-password.json":                         "202",
	"auth/login-malformed.json":                         "400",
	"auth/login-unknown-email.json":                     "401",
	"auth/me-without-authorizer.json":                   "401",
	"authorizer/basic-credentials.json":                 "refused invalid",
	"authorizer/session-forged.json":                    "refused invalid",
	"operator/create-organization.json":                 "ok",
	"operator/unknown-action.json":                      "error",
	"users/delete-primary-admin.json":                   "409",
	"users/get-other-org-user.json":                     "404",
	"users/invite-unknown-field.json":                   "400",
	"users/invite.json":                                 "201",
	"users/list-by-name.json":                           "200",
	"auth/reset-password-unknown-token.json":            "400",
	"auth/logout.json":                                  "204",
	"users/resend-invitation-accepted.json":             "409",
	"users/revoke-invitation-unknown.json":              "404",
	"users/reset-own-password.json":                     "409",
	"users/list-partners.json":                          "200",
	"users/create-partner.json":                         "201",
	"users/get-partner-unknown.json":                    "404",
	"notifier/invitation-insert.json":                   "1 email",
	"notifier/invitation-delivered-twice.json":          "1 email",
	"notifier/user-modified.json":                       "0 email",
	"company/get.json":                                  "200",
	"company/get-as-pending-partner.json":               "403",
	"company/update.json":                               "200",
	"company/update-without-if-match.json":              "428",
	"company/update-marketplace-with-credentials.json":  "400",
	"company/change-primary-admin.json":                 "200",
	"company/change-primary-admin-as-partner.json":      "403",
	"company/upload-logo-svg.json":                      "200",
	"company/upload-logo-svg-with-script.json":          "400",
	"company/set-logo-url.json":                         "200",
	"company/get-logo-not-uploaded.json":                "404",
	"company/remove-logo.json":                          "200",
	"company/remove-logo-stale.json":                    "412",
	"notifications/get.json":                            "200",
	"notifications/get-as-partner.json":                 "403",
	"notifications/replace.json":                        "200",
	"notifications/replace-unknown-event.json":          "400",
	"integration-form/get.json":                         "200",
	"integration-form/get-lite.json":                    "404",
	"integration-form/replace.json":                     "200",
	"integration-form/replace-stale.json":               "412",
	"partner-form/get.json":                             "200",
	"partner-form/get-as-pending-partner.json":          "200",
	"partner-form/replace.json":                         "200",
	"partner-form/submit-as-hub-user.json":              "403",
	"partner-form/submit-unknown-field.json":            "400",
	"partner-form/list-answers.json":                    "200",
	"partner-form/get-answers-not-submitted.json":       "404",
	"source-control/callback-access-denied.json":        "303",
	"source-control/callback.json":                      "303",
	"source-control/connect-github.json":                "200",
	"source-control/connect-pending-partner.json":       "403",
	"source-control/connect-unconfigured-provider.json": "400",
	"source-control/disconnect.json":                    "404",
	"source-control/get-status-partner.json":            "200",
	"source-control/get-status.json":                    "200",

	// API access, integrations, tenants and runs.
	"api-access/create.json":                                 "201",
	"api-access/create-unknown-scope.json":                   "400",
	"api-access/list.json":                                   "200",
	"api-access/revoke-unknown.json":                         "404",
	"api-access/list-as-api-key.json":                        "403",
	"integrations/create.json":                               "201",
	"integrations/create-http-logo.json":                     "400",
	"integrations/create-as-partner.json":                    "201",
	"integrations/list-by-name.json":                         "200",
	"integrations/get-unknown.json":                          "404",
	"integrations/update-unknown.json":                       "404",
	"integrations/delete-unknown.json":                       "404",
	"integrations/submit-as-hub-user.json":                   "403",
	"integrations/submit-unknown.json":                       "404",
	"integrations/review-invalid-decision.json":              "400",
	"integrations/v2-list-integrations.json":                 "200",
	"integrations/v2-get-integration-unknown.json":           "404",
	"integrations/v2-list-tenants-without-scope.json":        "403",
	"integrations/v2-list-tenants-skip.json":                 "400",
	"integrations/v2-create-tenant-unknown-integration.json": "400",
	"integrations/v2-get-tenant-unknown.json":                "404",
	"integrations/v2-update-tenant-unknown.json":             "404",
	"integrations/v2-archive-tenant-unknown.json":            "404",
	"integrations/v2-sync-unknown-tenant.json":               "404",
	"integrations/v2-sync-without-scope.json":                "403",
	"integrations/v2-list-runs-unknown-tenant.json":          "404",
	"integrations/v2-trigger-status-unknown.json":            "404",
	"integrations/v2-report-run-unknown.json":                "404",
	"authorizer/api-key-unknown.json":                        "refused invalid",
	"authorizer/api-key-malformed-bearer.json":               "refused invalid",

	// In-App Marketplace: settings, the end-user API and page, and
	// marketplace tokens at the authorizer (the demo has no marketplace
	// settings, so every token is refused).
	"marketplace/get-settings.json":                 "200",
	"marketplace/put-settings-reserved-issuer.json": "400",
	"marketplace/put-settings-stale.json":           "412",
	"marketplace/create-secret.json":                "201",
	"marketplace/add-private-key.json":              "400",
	"marketplace/settings-as-end-user.json":         "403",
	"marketplace/list-integrations.json":            "200",
	"marketplace/install-hidden-integration.json":   "404",
	"marketplace/uninstall-unknown-tenant.json":     "404",
	"marketplace/page-without-marketplace-url.json": "409",
	"authorizer/marketplace-alg-none.json":          "refused invalid",
	"authorizer/marketplace-unknown-issuer.json":    "refused invalid",
	"authorizer/marketplace-unknown-kid.json":       "refused invalid",
	"authorizer/marketplace-oversized.json":         "refused invalid",
	"authorizer/marketplace-page-query-token.json":  "refused invalid",
}

func eventsDeps(t *testing.T) (*app.Deps, string) {
	t.Helper()
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	db, err := embedded.Open(filepath.Join(t.TempDir(), "hub.db"), tm.Table.Schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := secrets.NewKeyring(eventsMaster)
	if err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	out, err := email.NewOutbox(outDir, "hub@hub.test", web.NewLogger(io.Discard, "test"))
	if err != nil {
		t.Fatal(err)
	}
	d := &app.Deps{Table: db, Schema: tm.Table.Schema, Keys: keys, Links: users.Links{Base: "https://hub.test"},
		LogOutput: io.Discard, Hashing: passwords.Params{MemoryKiB: 64, Time: 1, Threads: 1}, Sender: out}
	// A GitHub client is configured so connecting answers with a sign-in
	// URL; connecting never calls the provider.
	d.SourceControl, err = sourcecontrol.FromEnv(func(k string) string {
		return map[string]string{"HUB_OAUTH_GITHUB_CLIENT_ID": "events-client", "HUB_OAUTH_GITHUB_CLIENT_SECRET": "events-secret"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	seedDemo(t, db)
	return d, outDir
}

// seedDemo writes the organization and administrator the files name.
func seedDemo(t *testing.T, db storage.Table) {
	now := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	admin := users.User{ID: eventsAdmin, Org: eventsOrg, Email: "admin@demo.example", Name: "Ada", Role: users.RoleHubUser, Status: users.Active, CreatedAt: now}
	org := orgs.Organization{ID: eventsOrg, Name: "Demo Company", Plan: principal.Standard, PrimaryAdmin: eventsAdmin, PrimaryContact: admin.Email, CreatedAt: now}
	orgItem, err := org.Item(1)
	if err != nil {
		t.Fatal(err)
	}
	puts, err := admin.PutOps(1, storage.Absent())
	if err != nil {
		t.Fatal(err)
	}
	ops := append(puts, storage.Put(orgItem, storage.Absent()), storage.Put(admin.GuardItem(), storage.Absent()))
	if err := db.Write(context.Background(), ops...); err != nil {
		t.Fatal(err)
	}
}

func decodeStrict(t *testing.T, raw []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode: %v", err)
	}
}

func TestEveryEventFileRunsThroughItsFunction(t *testing.T) {
	root := filepath.Join(repoRoot(t), "events")
	if *updateEvents {
		writeNotifierEvents(t, root)
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	covered := map[string]bool{}
	for _, rel := range files {
		covered[rel] = true
		rel := rel
		t.Run(rel, func(t *testing.T) {
			want, ok := expected[rel]
			if !ok {
				t.Fatalf("events/%s has no expected outcome in this test", rel)
			}
			raw, err := os.ReadFile(filepath.Join(root, rel))
			if err != nil {
				t.Fatal(err)
			}
			fn, _, _ := strings.Cut(rel, "/")
			if got := runEvent(t, fn, raw); got != want {
				t.Fatalf("outcome %q, want %q", got, want)
			}
		})
	}
	for rel := range expected {
		if !covered[rel] {
			t.Errorf("expected outcome for events/%s, which does not exist", rel)
		}
	}
}

func runEvent(t *testing.T, fn string, raw []byte) string {
	d, outDir := eventsDeps(t)
	ctx := context.Background()
	switch fn {
	case "authorizer":
		var req events.APIGatewayV2CustomAuthorizerV2Request
		decodeStrict(t, raw, &req)
		resp, err := d.Authorizer().Handle(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.IsAuthorized {
			return "deny" // API Gateway's own 403: never asked for
		}
		_, err = principal.FromContext(resp.Context)
		var refused *principal.RefusedError
		if errors.As(err, &refused) {
			return "refused " + string(refused.Refusal)
		}
		return "allow"
	case "operator":
		var req operator.Request
		decodeStrict(t, raw, &req)
		if _, err := d.Operator().Handle(ctx, req); err != nil {
			return "error"
		}
		return "ok"
	case "notifier":
		var ev events.DynamoDBEvent
		decodeStrict(t, raw, &ev)
		resp, err := d.Notifier().Handle(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("notifier: %+v, %v", resp, err)
		}
		files, _ := filepath.Glob(filepath.Join(outDir, "*.eml"))
		return fmt.Sprintf("%d email", len(files))
	default:
		h, err := d.HTTPHandler(fn)
		if err != nil {
			t.Fatalf("events/%s/ names no HTTP function: %v", fn, err)
		}
		var req events.APIGatewayV2HTTPRequest
		decodeStrict(t, raw, &req)
		resp, err := h(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode >= 400 {
			var p web.Problem
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Code == "" || p.Status != resp.StatusCode {
				t.Fatalf("%d without a problem document: %s", resp.StatusCode, resp.Body)
			}
		}
		return strconv.Itoa(resp.StatusCode)
	}
}

// writeNotifierEvents generates the stream batches of events/notifier from
// real items: an invitation's outbox event (sealed with eventsMaster) as a
// DynamoDB stream INSERT, the same record twice, and a user MODIFY that the
// notifier must skip.
func writeNotifierEvents(t *testing.T, root string) {
	tm, _ := template.Load()
	s := tm.Table.Schema
	keys, _ := secrets.NewKeyring(eventsMaster)
	now := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	u := users.User{ID: "01JGRACE000000000000000000", Org: eventsOrg, Email: "grace@demo.example", Role: users.RoleHubUser, CreatedAt: now}
	ops, err := users.InviteOps(u, users.Invitation{OrgName: "Demo Company", InviterName: "Ada"}, users.Links{Base: "https://hub.test"}, keys.Box(app.OutboxPurpose), now)
	if err != nil {
		t.Fatal(err)
	}
	var eventItem, userItem storage.Item
	for _, op := range ops {
		switch op.Item.Type {
		case outbox.EntityType:
			if ev, err := outbox.FromItem(op.Item); err == nil && ev.Kind == outbox.Invitation {
				eventItem = op.Item
			}
		case users.EntityType:
			userItem = op.Item
		}
	}
	rec := func(seq, name string, it storage.Item) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{
			AWSRegion: "eu-west-1", EventID: "c4ca4238a0b923820dcc509a6f75849b" + seq, EventName: name,
			EventSource: "aws:dynamodb", EventVersion: "1.1",
			EventSourceArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/integration-hub-Table-1ABCDEF/stream/2026-11-24T07:00:00.000",
			Change: events.DynamoDBStreamRecord{
				ApproximateCreationDateTime: events.SecondsEpochTime{Time: now},
				Keys:                        stream.KeysFromItem(s, it.Key),
				NewImage:                    stream.ImageFromItem(s, it),
				SequenceNumber:              "4421584500000000017450439" + seq,
				SizeBytes:                   int64(len(it.Data) + 64),
				StreamViewType:              "NEW_IMAGE",
			},
		}
	}
	write := func(name string, recs ...events.DynamoDBEventRecord) {
		b, err := json.MarshalIndent(events.DynamoDBEvent{Records: recs}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "notifier", name), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.MkdirAll(filepath.Join(root, "notifier"), 0o755)
	invitation := rec("091", "INSERT", eventItem)
	write("invitation-insert.json", invitation)
	write("invitation-delivered-twice.json", invitation, invitation)
	write("user-modified.json", rec("092", "MODIFY", userItem))
}
