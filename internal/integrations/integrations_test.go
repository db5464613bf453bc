package integrations_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/forms"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/integrations"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/storagetest"
	"github.com/integration-hub/hub/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func embeddedTable(t *testing.T) storage.Table { return testenv.EmbeddedTable(t) }

func dynamoDBTable(t *testing.T) storage.Table { return testenv.DynamoDBTable(t) }

var adapters = map[string]func(*testing.T) storage.Table{"embedded": embeddedTable, "dynamodb-local": dynamoDBTable}

type fixture struct {
	t       *testing.T
	table   storage.Table
	svc     *integrations.Service
	hub     principal.Principal
	partner principal.Principal
	// rival is a user of another partner organization of the same
	// organization; outsider a hub user of another organization.
	rival, outsider principal.Principal
	key             principal.Principal
}

func newFixture(t *testing.T, table storage.Table) *fixture {
	const org = "acme"
	return &fixture{
		t: t, table: table,
		svc:      &integrations.Service{Table: table, Now: testenv.TickingClock()},
		hub:      principal.Principal{Kind: principal.HubUser, Org: org, Subject: "01JHUB00000000000000000000", Plan: principal.Standard},
		partner:  principal.Principal{Kind: principal.PartnerUser, Org: org, Subject: "01JPARTNERUSER000000000000", Partner: "01JPARTNER0000000000000000", Plan: principal.Standard},
		rival:    principal.Principal{Kind: principal.PartnerUser, Org: org, Subject: "01JR1VA1VSER00000000000000", Partner: "01JR1VA1000000000000000000", Plan: principal.Standard},
		outsider: principal.Principal{Kind: principal.HubUser, Org: "other", Subject: "01JHUB00000000000000000000", Plan: principal.Standard},
		key:      principal.Principal{Kind: principal.APIKey, Org: org, Subject: "01JKEY00000000000000000000", Scopes: []string{"runs:start"}},
	}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	return "uncoded: " + err.Error()
}

func fieldOf(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Field
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) integration(p principal.Principal, name string, published bool) integrations.Detail {
	f.t.Helper()
	in := integrations.IntegrationInput{Name: &name}
	if p.Kind == principal.HubUser {
		in.Published = &published
	}
	d, _, err := f.svc.CreateIntegration(context.Background(), p, in)
	if err != nil {
		f.t.Fatalf("create integration %q: %v", name, err)
	}
	return d
}

func (f *fixture) tenant(integration, endUser string) integrations.Tenant {
	f.t.Helper()
	tn, err := f.svc.CreateTenant(context.Background(), f.hub, integrations.TenantInput{IntegrationID: integration, EndUserID: endUser})
	if err != nil {
		f.t.Fatalf("create tenant of %s for %s: %v", integration, endUser, err)
	}
	return tn
}

// eventKinds are the kinds of the organization's outbox events, oldest
// first.
func (f *fixture) eventKinds(org string) []outbox.Kind {
	f.t.Helper()
	page, err := f.table.Query(context.Background(), storage.Query{PK: keys.OrgPK(org), Sort: storage.SortPrefix, From: "EVENT#"})
	if err != nil {
		f.t.Fatal(err)
	}
	var kinds []outbox.Kind
	for _, it := range page.Items {
		ev, err := outbox.FromItem(it)
		if err != nil {
			f.t.Fatal(err)
		}
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

func TestCreateIntegrationRefusesBadInputNamingTheField(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	long := strings.Repeat("x", 101)
	cases := []struct {
		name  string
		p     principal.Principal
		in    integrations.IntegrationInput
		field string
		code  string
	}{
		{"no name", f.hub, integrations.IntegrationInput{}, "name", "required"},
		{"blank name", f.hub, integrations.IntegrationInput{Name: ptr("  ")}, "name", "invalid_length"},
		{"long name", f.hub, integrations.IntegrationInput{Name: &long}, "name", "invalid_length"},
		{"http logo", f.hub, integrations.IntegrationInput{Name: ptr("a"), LogoURL: ptr("http://cdn.test/a.svg")}, "logo_url", "invalid_url"},
		{"logo with credentials", f.hub, integrations.IntegrationInput{Name: ptr("a"), LogoURL: ptr("https://u:p@cdn.test/a.svg")}, "logo_url", "invalid_url"},
		{"repeated tag", f.hub, integrations.IntegrationInput{Name: ptr("a"), Tags: &[]string{"CRM", "crm"}}, "tags[1]", "duplicate"},
		{"empty tag", f.hub, integrations.IntegrationInput{Name: ptr("a"), Tags: &[]string{""}}, "tags[0]", "invalid_length"},
		{"too many tags", f.hub, integrations.IntegrationInput{Name: ptr("a"), Tags: ptr(make([]string, integrations.MaxTags+1))}, "tags", "too_many"},
		{"control character in a group", f.hub, integrations.IntegrationInput{Name: ptr("a"), Audience: &integrations.Audience{Groups: []string{"go\x00ld"}}}, "audience.groups[0]", "control_characters"},
		{"partner publishing", f.partner, integrations.IntegrationInput{Name: ptr("a"), Published: ptr(true)}, "published", "review_required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.CreateIntegration(context.Background(), tc.p, tc.in)
			if codeOf(err) != tc.code || fieldOf(err) != tc.field || apperr.KindOf(err) != apperr.Invalid {
				t.Fatalf("err = %v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}
	if kinds := f.eventKinds("acme"); len(kinds) != 0 {
		t.Fatalf("refused creations wrote events %v", kinds)
	}
}

func TestIntegrationsAreListedByOneQueryPerVisibleScope(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	ctx := context.Background()
	f.integration(f.hub, "Zendesk", true)
	f.integration(f.hub, "asana", false)
	f.integration(f.partner, "Partner CRM", false)
	f.integration(f.rival, "Rival ERP", false)
	f.integration(f.outsider, "Elsewhere", true)
	names := func(p principal.Principal, in integrations.PageInput) string {
		t.Helper()
		page, err := f.svc.ListIntegrations(ctx, p, in)
		if err != nil {
			t.Fatalf("list as %s: %v", p.Kind, err)
		}
		var out []string
		for _, s := range page.Integrations {
			out = append(out, s.Name)
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name string
		p    principal.Principal
		in   integrations.PageInput
		want string
	}{
		{"hub user by name", f.hub, integrations.PageInput{Sort: integrations.SortName}, "asana,Partner CRM,Rival ERP,Zendesk"},
		{"hub user by name descending", f.hub, integrations.PageInput{Sort: integrations.SortName, Descending: true}, "Zendesk,Rival ERP,Partner CRM,asana"},
		{"hub user newest first", f.hub, integrations.PageInput{Sort: integrations.SortCreatedAt, Descending: true}, "Rival ERP,Partner CRM,asana,Zendesk"},
		{"api key by name", f.key, integrations.PageInput{Sort: integrations.SortName}, "asana,Partner CRM,Rival ERP,Zendesk"},
		{"partner user sees its own partner's", f.partner, integrations.PageInput{Sort: integrations.SortName}, "Partner CRM"},
		{"another organization", f.outsider, integrations.PageInput{Sort: integrations.SortName}, "Elsewhere"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(tc.p, tc.in); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	first, err := f.svc.ListIntegrations(ctx, f.hub, integrations.PageInput{Sort: integrations.SortName, Limit: 3})
	if err != nil || len(first.Integrations) != 3 || first.Cursor == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	second, err := f.svc.ListIntegrations(ctx, f.hub, integrations.PageInput{Sort: integrations.SortName, Limit: 3, Cursor: first.Cursor})
	if err != nil || len(second.Integrations) != 1 || second.Integrations[0].Name != "Zendesk" || second.Cursor != "" {
		t.Fatalf("second page: %+v, %v", second, err)
	}
	if _, err := f.svc.ListIntegrations(ctx, f.outsider, integrations.PageInput{Sort: integrations.SortName, Cursor: first.Cursor}); !errors.Is(err, storage.ErrBadCursor) {
		t.Fatalf("another organization replayed a cursor: %v", err)
	}
	if _, err := f.svc.ListIntegrations(ctx, f.partner, integrations.PageInput{Sort: integrations.SortCreatedAt}); fieldOf(err) != "sort" {
		t.Fatalf("a partner sorting by creation: %v", err)
	}
}

func TestWhoMayChangeAndDeleteWhichIntegration(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	ctx := context.Background()
	hubOwned := f.integration(f.hub, "Hub", false)
	draft := f.integration(f.partner, "Draft", false)
	published := f.integration(f.partner, "Published", false)
	publish(t, f, published.ID)
	rename := integrations.IntegrationInput{Name: ptr("Renamed")}
	cases := []struct {
		name string
		p    principal.Principal
		id   string
		in   integrations.IntegrationInput
		code string
	}{
		{"partner renames its draft", f.partner, draft.ID, rename, ""},
		{"partner changes its published integration", f.partner, published.ID, rename, "not_a_draft"},
		{"another partner's draft", f.rival, draft.ID, rename, "integration_not_found"},
		{"partner changes a hub integration", f.partner, hubOwned.ID, rename, "integration_not_found"},
		{"another organization", f.outsider, draft.ID, rename, "integration_not_found"},
		{"hub user publishes a partner draft", f.hub, draft.ID, integrations.IntegrationInput{Published: ptr(true)}, "review_required"},
		{"hub user publishes its own", f.hub, hubOwned.ID, integrations.IntegrationInput{Published: ptr(true)}, ""},
		{"hub user withdraws a published partner integration", f.hub, published.ID, integrations.IntegrationInput{Published: ptr(false)}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.UpdateIntegration(ctx, tc.p, tc.id, 0, tc.in)
			if codeOf(err) != tc.code {
				t.Fatalf("err = %v, want %q", err, tc.code)
			}
		})
	}
	d, version, err := f.svc.GetIntegration(ctx, f.hub, published.ID)
	if err != nil || d.Status != integrations.Draft || d.Published {
		t.Fatalf("withdrawn integration: %+v, %v", d.Summary, err)
	}
	if _, _, err := f.svc.UpdateIntegration(ctx, f.hub, published.ID, version-1, rename); codeOf(err) != "stale_version" {
		t.Fatalf("a change conditional on an old version: %v", err)
	}

	tn := f.tenant(hubOwned.ID, "customer-1")
	if err := f.svc.DeleteIntegration(ctx, f.hub, hubOwned.ID); codeOf(err) != "integration_has_tenants" {
		t.Fatalf("deleting an integration with a live tenant: %v", err)
	}
	if err := f.svc.ArchiveTenant(ctx, f.hub, tn.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    principal.Principal
		id   string
		code string
	}{
		{"another partner deletes a draft", f.rival, draft.ID, "integration_not_found"},
		{"partner deletes its draft", f.partner, draft.ID, ""},
		{"hub user deletes one whose tenants are archived", f.hub, hubOwned.ID, ""},
		{"deleted twice", f.hub, hubOwned.ID, "integration_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.svc.DeleteIntegration(ctx, tc.p, tc.id); codeOf(err) != tc.code {
				t.Fatalf("err = %v, want %q", err, tc.code)
			}
		})
	}
}

// publish takes a partner draft through review to published.
func publish(t *testing.T, f *fixture, id string) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := f.svc.SubmitIntegration(ctx, f.partner, id, integrations.SubmitInput{}); err != nil {
		t.Fatalf("submit %s: %v", id, err)
	}
	if _, _, err := f.svc.ReviewIntegration(ctx, f.hub, id, integrations.ReviewInput{Decision: integrations.Approve}); err != nil {
		t.Fatalf("approve %s: %v", id, err)
	}
}

func writeIntegrationForm(t *testing.T, f *fixture, questions ...forms.QuestionInput) forms.Document {
	t.Helper()
	formSvc := &forms.IntegrationService{Table: f.table, Now: time.Now}
	_, version, err := formSvc.Read(context.Background(), f.hub)
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err := formSvc.Replace(context.Background(), f.hub, version, forms.IntegrationInput{Questions: questions})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func answers(t *testing.T, byID map[string]any) forms.AnswersInput {
	out := forms.AnswersInput{}
	for id, v := range byID {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = b
	}
	return out
}

func TestPartnerReviewFlowValidatesTheIntegrationFormAnswersOnSubmit(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	ctx := context.Background()
	form := writeIntegrationForm(t, f,
		forms.QuestionInput{Type: forms.URL, Label: "Documentation", Required: true},
		forms.QuestionInput{Type: forms.SingleChoice, Label: "Category", Required: true, Options: []string{"CRM", "ERP"}},
		forms.QuestionInput{Type: forms.LongText, Label: "Notes"},
	)
	docs, category := form.Questions[0].ID, form.Questions[1].ID
	d := f.integration(f.partner, "Partner CRM", false)
	if d.Status != integrations.Draft || d.PartnerID != f.partner.Partner {
		t.Fatalf("created %+v", d.Summary)
	}

	bad := []struct {
		name    string
		p       principal.Principal
		answers map[string]any
		code    string
		field   string
	}{
		{"required answer missing", f.partner, map[string]any{docs: "https://docs.partner.test"}, "answer_required", "answers." + category},
		{"not an option", f.partner, map[string]any{docs: "https://docs.partner.test", category: "HR"}, "invalid_option", "answers." + category},
		{"not a URL", f.partner, map[string]any{docs: "docs", category: "CRM"}, "invalid_url", "answers." + docs},
		{"unknown question", f.partner, map[string]any{docs: "https://docs.partner.test", category: "CRM", "nope": "x"}, "unknown_question", "answers.nope"},
		{"another partner", f.rival, map[string]any{docs: "https://docs.partner.test", category: "CRM"}, "integration_not_found", ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.SubmitIntegration(ctx, tc.p, d.ID, integrations.SubmitInput{Answers: answers(t, tc.answers)})
			if codeOf(err) != tc.code || fieldOf(err) != tc.field {
				t.Fatalf("err = %v, want %s on %q", err, tc.code, tc.field)
			}
		})
	}
	good := answers(t, map[string]any{docs: "https://docs.partner.test", category: "CRM"})
	submitted, _, err := f.svc.SubmitIntegration(ctx, f.partner, d.ID, integrations.SubmitInput{Answers: good})
	if err != nil {
		t.Fatal(err)
	}
	if submitted.Status != integrations.InReview || len(submitted.FormAnswers) != 2 || submitted.FormAnswers[1].Text != "CRM" || submitted.FormAnswers[1].Question.Label != "Category" {
		t.Fatalf("submitted %+v", submitted)
	}
	if _, _, err := f.svc.UpdateIntegration(ctx, f.partner, d.ID, 0, integrations.IntegrationInput{Name: ptr("x")}); codeOf(err) != "not_a_draft" {
		t.Fatalf("partner changed an integration in review: %v", err)
	}
	if _, _, err := f.svc.ReviewIntegration(ctx, f.hub, d.ID, integrations.ReviewInput{Decision: integrations.Reject}); fieldOf(err) != "feedback" {
		t.Fatalf("rejected without feedback: %v", err)
	}
	rejected, _, err := f.svc.ReviewIntegration(ctx, f.hub, d.ID, integrations.ReviewInput{Decision: integrations.Reject, Feedback: "Add a logo."})
	if err != nil || rejected.Status != integrations.Draft || rejected.Feedback != "Add a logo." || rejected.ReviewedBy != f.hub.Subject {
		t.Fatalf("rejected %+v, %v", rejected.Summary, err)
	}
	if _, _, err := f.svc.ReviewIntegration(ctx, f.hub, d.ID, integrations.ReviewInput{Decision: integrations.Approve}); codeOf(err) != "not_in_review" {
		t.Fatalf("approved a draft: %v", err)
	}
	if _, _, err := f.svc.UpdateIntegration(ctx, f.partner, d.ID, 0, integrations.IntegrationInput{LogoURL: ptr("https://cdn.partner.test/logo.svg")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.SubmitIntegration(ctx, f.partner, d.ID, integrations.SubmitInput{Answers: good}); err != nil {
		t.Fatal(err)
	}
	approved, _, err := f.svc.ReviewIntegration(ctx, f.hub, d.ID, integrations.ReviewInput{Decision: integrations.Approve})
	if err != nil || approved.Status != integrations.Published || !approved.Published || approved.Feedback != "" {
		t.Fatalf("approved %+v, %v", approved.Summary, err)
	}
	detail, _, err := f.svc.GetIntegration(ctx, f.partner, d.ID)
	if err != nil || len(detail.FormAnswers) != 2 || detail.FormAnswers[0].Text != "https://docs.partner.test" {
		t.Fatalf("detail %+v, %v", detail, err)
	}
	want := []outbox.Kind{outbox.IntegrationCreated, outbox.PartnerIntegrationUpdated, outbox.PartnerIntegrationUpdated, outbox.PartnerIntegrationUpdated}
	if got := f.eventKinds("acme"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v (created, submitted, updated, submitted)", got, want)
	}
}

// formEditingTable edits the Integration Form once, just before the first
// write, as a hub user editing the form during a submission would.
type formEditingTable struct {
	storage.Table
	once sync.Once
	edit func()
}

func (r *formEditingTable) Write(ctx context.Context, ops ...storage.Op) error {
	r.once.Do(r.edit)
	return r.Table.Write(ctx, ops...)
}

func TestAnswersToAFormEditedDuringTheSubmissionAreRefused(t *testing.T) {
	table := embeddedTable(t)
	f := newFixture(t, table)
	form := writeIntegrationForm(t, f, forms.QuestionInput{Type: forms.Text, Label: "Support email", Required: true})
	d := f.integration(f.partner, "Partner CRM", false)
	racing := &formEditingTable{Table: table, edit: func() {
		writeIntegrationForm(t, f, forms.QuestionInput{Type: forms.Text, Label: "Support phone", Required: true})
	}}
	svc := &integrations.Service{Table: racing, Now: time.Now}
	_, _, err := svc.SubmitIntegration(context.Background(), f.partner, d.ID, integrations.SubmitInput{Answers: answers(t, map[string]any{form.Questions[0].ID: "help@partner.test"})})
	if codeOf(err) != "integration_form_changed" {
		t.Fatalf("err = %v, want integration_form_changed", err)
	}
	now, _, _ := f.svc.GetIntegration(context.Background(), f.partner, d.ID)
	if now.Status != integrations.Draft || len(now.FormAnswers) != 0 {
		t.Fatalf("the refused submission was written: %+v", now)
	}
}

func TestTenantsAreListedByOrganizationIntegrationAndEndUserAndArchivedOutOfLists(t *testing.T) {
	for name, open := range adapters {
		t.Run(name, func(t *testing.T) { testTenantLists(t, newFixture(t, open(t))) })
	}
}

func testTenantLists(t *testing.T, f *fixture) {
	ctx := context.Background()
	crm := f.integration(f.hub, "CRM", true)
	erp := f.integration(f.hub, "ERP", true)
	a := f.tenant(crm.ID, "customer#1")
	b := f.tenant(erp.ID, "customer#1")
	c := f.tenant(crm.ID, "customer#10")
	otherOrg := f.integration(f.outsider, "CRM", true)
	if _, err := f.svc.CreateTenant(ctx, f.outsider, integrations.TenantInput{IntegrationID: otherOrg.ID, EndUserID: "customer#1"}); err != nil {
		t.Fatal(err)
	}
	list := func(filter integrations.TenantFilter) string {
		t.Helper()
		page, err := f.svc.ListTenants(ctx, f.hub, filter, integrations.PageInput{Descending: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tn := range page.Tenants {
			out = append(out, tn.ID)
		}
		return strings.Join(out, ",")
	}
	ids := func(ts ...integrations.Tenant) string {
		var out []string
		for _, tn := range ts {
			out = append(out, tn.ID)
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name   string
		filter integrations.TenantFilter
		want   string
	}{
		{"organization, newest first", integrations.TenantFilter{}, ids(c, b, a)},
		{"integration", integrations.TenantFilter{IntegrationID: crm.ID}, ids(c, a)},
		{"end-user (ids with the key separator stay apart)", integrations.TenantFilter{EndUserID: "customer#1"}, ids(b, a)},
		{"unknown integration", integrations.TenantFilter{IntegrationID: "not-an-id"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.filter); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	marketplace, err := f.svc.EndUserTenants(ctx, "acme", "customer#10", integrations.PageInput{})
	if err != nil || len(marketplace.Tenants) != 1 || marketplace.Tenants[0].ID != c.ID {
		t.Fatalf("the marketplace's end-user list: %+v, %v", marketplace, err)
	}

	if _, _, err := f.svc.UpdateTenant(ctx, f.hub, a.ID, 0, integrations.TenantUpdate{Config: json.RawMessage(`{"region": "eu"}`)}); err != nil {
		t.Fatal(err)
	}
	page, _ := f.svc.EndUserTenants(ctx, "acme", "customer#1", integrations.PageInput{})
	if page.Tenants[0].ID != a.ID || string(page.Tenants[0].Config) != `{"region":"eu"}` {
		t.Fatalf("the installation copy did not follow the change: %+v", page.Tenants[0])
	}
	if err := f.svc.ArchiveTenant(ctx, f.hub, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ArchiveTenant(ctx, f.hub, a.ID); err != nil {
		t.Fatalf("archiving twice: %v", err)
	}
	for _, tc := range cases[:3] {
		if got := list(tc.filter); strings.Contains(got, a.ID) {
			t.Fatalf("%s still lists the archived tenant: %s", tc.name, got)
		}
	}
	archived, _, err := f.svc.GetTenant(ctx, f.hub, a.ID)
	if err != nil || archived.Status != integrations.TenantArchived || archived.ArchivedAt == nil || string(archived.Config) != `{"region":"eu"}` {
		t.Fatalf("the archived tenant by id: %+v, %v", archived, err)
	}
	if _, _, err := f.svc.UpdateTenant(ctx, f.hub, a.ID, 0, integrations.TenantUpdate{Status: ptr(integrations.TenantActive)}); codeOf(err) != "tenant_archived" {
		t.Fatalf("changing an archived tenant: %v", err)
	}
	if _, _, err := f.svc.GetTenant(ctx, f.outsider, b.ID); codeOf(err) != "tenant_not_found" {
		t.Fatalf("another organization read a tenant: %v", err)
	}
	want := []outbox.Kind{outbox.IntegrationCreated, outbox.IntegrationCreated, outbox.TenantCreated, outbox.TenantCreated, outbox.TenantCreated, outbox.TenantArchived}
	if got := f.eventKinds("acme"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestCreateAndUpdateTenantRefuseBadInputNamingTheField(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	ctx := context.Background()
	crm := f.integration(f.hub, "CRM", true)
	big := `{"blob":"` + strings.Repeat("x", integrations.MaxConfigBytes) + `"}`
	cases := []struct {
		name  string
		in    integrations.TenantInput
		field string
		code  string
	}{
		{"unknown integration", integrations.TenantInput{IntegrationID: ids.New(), EndUserID: "u"}, "integration_id", "integration_not_found"},
		{"malformed integration id", integrations.TenantInput{IntegrationID: "x#y", EndUserID: "u"}, "integration_id", "integration_not_found"},
		{"another organization's integration", integrations.TenantInput{IntegrationID: f.integration(f.outsider, "x", true).ID, EndUserID: "u"}, "integration_id", "integration_not_found"},
		{"no end-user", integrations.TenantInput{IntegrationID: crm.ID}, "end_user_id", "invalid_end_user_id"},
		{"end-user with a control character", integrations.TenantInput{IntegrationID: crm.ID, EndUserID: "a\tb"}, "end_user_id", "invalid_end_user_id"},
		{"config not an object", integrations.TenantInput{IntegrationID: crm.ID, EndUserID: "u", Config: json.RawMessage(`[1]`)}, "config", "invalid_config"},
		{"config too large", integrations.TenantInput{IntegrationID: crm.ID, EndUserID: "u", Config: json.RawMessage(big)}, "config", "config_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateTenant(ctx, f.hub, tc.in)
			if codeOf(err) != tc.code || fieldOf(err) != tc.field {
				t.Fatalf("err = %v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}
	tn := f.tenant(crm.ID, "u")
	if _, _, err := f.svc.UpdateTenant(ctx, f.hub, tn.ID, 0, integrations.TenantUpdate{Status: ptr(integrations.TenantArchived)}); fieldOf(err) != "status" {
		t.Fatalf("archiving through an update: %v", err)
	}
}

func TestRunsStartListAndReportTheirOutcome(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	ctx := context.Background()
	tn := f.tenant(f.integration(f.hub, "CRM", true).ID, "customer-1")
	var triggers []string
	for i := 0; i < 3; i++ {
		tr, err := f.svc.StartRun(ctx, f.key, tn.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		triggers = append(triggers, tr.TriggerID)
	}
	run, err := f.svc.TriggerStatus(ctx, f.hub, triggers[0])
	if err != nil || run.Status != integrations.RunQueued || run.Tenant != tn.ID || run.StartedBy.Kind != principal.APIKey {
		t.Fatalf("status %+v, %v", run, err)
	}
	first, err := f.svc.ListRuns(ctx, f.hub, tn.ID, integrations.PageInput{Descending: true, Limit: 2})
	if err != nil || len(first.Runs) != 2 || first.Runs[0].ID != triggers[2] || first.Runs[1].ID != triggers[1] || first.Cursor == "" {
		t.Fatalf("first page %+v, %v", first, err)
	}
	second, err := f.svc.ListRuns(ctx, f.hub, tn.ID, integrations.PageInput{Descending: true, Limit: 2, Cursor: first.Cursor})
	if err != nil || len(second.Runs) != 1 || second.Runs[0].ID != triggers[0] || second.Cursor != "" {
		t.Fatalf("second page %+v, %v", second, err)
	}

	steps := []struct {
		name   string
		report integrations.RunReport
		status integrations.RunStatus
		code   string
		field  string
	}{
		{"unknown status", integrations.RunReport{Status: "done"}, "", "invalid_status", "status"},
		{"error without failure", integrations.RunReport{Status: integrations.RunSucceeded, Error: "x"}, "", "error_without_failure", "error"},
		{"running", integrations.RunReport{Status: integrations.RunRunning}, integrations.RunRunning, "", ""},
		{"failed", integrations.RunReport{Status: integrations.RunFailed, Error: "the CRM answered 401"}, integrations.RunFailed, "", ""},
		{"failed again (a retried report)", integrations.RunReport{Status: integrations.RunFailed, Error: "the CRM answered 401"}, integrations.RunFailed, "", ""},
		{"succeeded after failing", integrations.RunReport{Status: integrations.RunSucceeded}, "", "run_finished", ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r, err := f.svc.ReportRun(ctx, f.key, triggers[0], st.report)
			if codeOf(err) != st.code || fieldOf(err) != st.field || (err == nil && r.Status != st.status) {
				t.Fatalf("report: %+v, %v; want %s / %s", r, err, st.status, st.code)
			}
		})
	}
	failed, _ := f.svc.TriggerStatus(ctx, f.hub, triggers[0])
	if failed.FinishedAt == nil || failed.Error != "the CRM answered 401" {
		t.Fatalf("failed run %+v", failed)
	}
	kinds := f.eventKinds("acme")
	if n := strings.Count(fmt.Sprint(kinds), string(outbox.RunFailed)); n != 1 {
		t.Fatalf("events %v: %d run.failed, want 1", kinds, n)
	}

	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"status of another organization's trigger", func() error { _, err := f.svc.TriggerStatus(ctx, f.outsider, triggers[1]); return err }, "trigger_not_found"},
		{"status of an unknown trigger", func() error { _, err := f.svc.TriggerStatus(ctx, f.hub, ids.New()); return err }, "trigger_not_found"},
		{"runs of another organization's tenant", func() error { _, err := f.svc.ListRuns(ctx, f.outsider, tn.ID, integrations.PageInput{}); return err }, "tenant_not_found"},
		{"start another organization's tenant", func() error { _, err := f.svc.StartRun(ctx, f.outsider, tn.ID, ""); return err }, "tenant_not_found"},
		{"an Idempotency-Key with a space", func() error { _, err := f.svc.StartRun(ctx, f.key, tn.ID, "a b"); return err }, "invalid_idempotency_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); codeOf(err) != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
		})
	}

	if _, _, err := f.svc.UpdateTenant(ctx, f.hub, tn.ID, 0, integrations.TenantUpdate{Status: ptr(integrations.TenantPaused)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.StartRun(ctx, f.key, tn.ID, ""); codeOf(err) != "tenant_paused" {
		t.Fatalf("started a paused tenant: %v", err)
	}
	if err := f.svc.ArchiveTenant(ctx, f.hub, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.StartRun(ctx, f.key, tn.ID, ""); codeOf(err) != "tenant_archived" {
		t.Fatalf("started an archived tenant: %v", err)
	}
}

// The guard's expiry is read by the table's own clock, so the first starts
// are dated back instead of the clock moved on.
func TestAnIdempotencyKeyReturnsTheFirstStartsTriggerForADay(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	ctx := context.Background()
	crm := f.integration(f.hub, "CRM", true)
	tn, other := f.tenant(crm.ID, "a"), f.tenant(crm.ID, "b")
	startedAt := func(ago time.Duration) *integrations.Service {
		return &integrations.Service{Table: f.table, Now: func() time.Time { return time.Now().Add(-ago) }}
	}
	first, err := startedAt(integrations.IdempotencyWindow-time.Minute).StartRun(ctx, f.key, tn.ID, "nightly-1")
	if err != nil || first.Replayed {
		t.Fatalf("first start %+v, %v", first, err)
	}
	again, err := f.svc.StartRun(ctx, f.key, tn.ID, "nightly-1")
	if err != nil || again.TriggerID != first.TriggerID || !again.Replayed {
		t.Fatalf("same key within the window: %+v, %v; want %s", again, err, first.TriggerID)
	}
	if _, err := f.svc.StartRun(ctx, f.key, other.ID, "nightly-1"); codeOf(err) != "idempotency_key_reused" {
		t.Fatalf("the key for another tenant: %v", err)
	}
	if _, err := f.svc.StartRun(ctx, f.outsider, tn.ID, "nightly-1"); codeOf(err) != "tenant_not_found" {
		t.Fatalf("another organization with the key: %v", err)
	}
	old, err := startedAt(integrations.IdempotencyWindow+2*time.Second).StartRun(ctx, f.key, tn.ID, "nightly-0")
	if err != nil {
		t.Fatal(err)
	}
	later, err := f.svc.StartRun(ctx, f.key, tn.ID, "nightly-0")
	if err != nil || later.TriggerID == old.TriggerID || later.Replayed {
		t.Fatalf("same key after the window: %+v, %v; want a new run", later, err)
	}
}

// The proof: 50 parallel starts with one Idempotency-Key create one
// run, on both adapters (DynamoDB Local decides the race with its
// conditional transactions).
// A page of runs answers from the runs alone; an empty one tells a tenant
// without runs (an empty list) from an unknown tenant or another
// organization's (404).
func TestRunsOfATenantWithoutRunsAreEmptyAndOfAnUnknownOneNotFound(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	ctx := context.Background()
	tn := f.tenant(f.integration(f.hub, "CRM", true).ID, "customer-1")
	page, err := f.svc.ListRuns(ctx, f.hub, tn.ID, integrations.PageInput{})
	if err != nil || len(page.Runs) != 0 || page.Runs == nil {
		t.Fatalf("runs of a tenant without runs: %+v, %v; want an empty list", page, err)
	}
	for name, call := range map[string]func() error{
		"unknown tenant":                func() error { _, err := f.svc.ListRuns(ctx, f.hub, ids.New(), integrations.PageInput{}); return err },
		"another organization's tenant": func() error { _, err := f.svc.ListRuns(ctx, f.outsider, tn.ID, integrations.PageInput{}); return err },
		"a tenant id that is no id":     func() error { _, err := f.svc.ListRuns(ctx, f.hub, "x#y", integrations.PageInput{}); return err },
	} {
		if err := call(); codeOf(err) != "tenant_not_found" {
			t.Errorf("%s: %v, want tenant_not_found", name, err)
		}
	}
}

// A trigger holds a copy of its run, so its status is one read; the copy
// follows every report, and a trigger written before it held the run (its
// tenant only) still answers, and holds the run after the next report.
func TestATriggerHoldsItsRunAndOneWrittenBeforeStillAnswers(t *testing.T) {
	f := newFixture(t, embeddedTable(t))
	ctx := context.Background()
	tn := f.tenant(f.integration(f.hub, "CRM", true).ID, "customer-1")
	listed := func(id string) integrations.Run {
		t.Helper()
		page, err := f.svc.ListRuns(ctx, f.hub, tn.ID, integrations.PageInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Runs {
			if r.ID == id {
				return r
			}
		}
		t.Fatalf("run %s not listed", id)
		return integrations.Run{}
	}
	agree := func(id string, want integrations.RunStatus) {
		t.Helper()
		status, err := f.svc.TriggerStatus(ctx, f.hub, id)
		if err != nil || status.Status != want {
			t.Fatalf("trigger status %+v, %v; want %s", status, err, want)
		}
		if l := listed(id); l.Status != status.Status || !l.UpdatedAt.Equal(status.UpdatedAt) {
			t.Fatalf("the trigger says %+v, the tenant's runs %+v", status, l)
		}
	}

	current, err := f.svc.StartRun(ctx, f.key, tn.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	agree(current.TriggerID, integrations.RunQueued)
	if _, err := f.svc.ReportRun(ctx, f.key, current.TriggerID, integrations.RunReport{Status: integrations.RunRunning}); err != nil {
		t.Fatal(err)
	}
	agree(current.TriggerID, integrations.RunRunning)

	older, err := f.svc.StartRun(ctx, f.key, tn.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	legacy := storage.Item{Key: keys.RunTrigger("acme", older.TriggerID), Type: integrations.TriggerType, Version: 1, Data: []byte(`{"tenant_id":"` + tn.ID + `"}`)}
	if err := f.table.Write(ctx, storage.Put(legacy, storage.Present())); err != nil {
		t.Fatal(err)
	}
	agree(older.TriggerID, integrations.RunQueued)
	if _, err := f.svc.ReportRun(ctx, f.key, older.TriggerID, integrations.RunReport{Status: integrations.RunSucceeded}); err != nil {
		t.Fatal(err)
	}
	agree(older.TriggerID, integrations.RunSucceeded)
	it, err := f.table.Get(ctx, keys.RunTrigger("acme", older.TriggerID))
	if err != nil || !strings.Contains(string(it.Data), `"status":"succeeded"`) {
		t.Fatalf("the reported trigger holds %s, %v; want its run", it.Data, err)
	}
}

func TestFiftyParallelStartsWithOneIdempotencyKeyCreateOneRun(t *testing.T) {
	for name, open := range adapters {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, open(t))
			ctx := context.Background()
			tn := f.tenant(f.integration(f.hub, "CRM", true).ID, "customer-1")
			const starts = 50
			triggers := make([]string, starts)
			errs := make([]error, starts)
			var wg sync.WaitGroup
			for i := 0; i < starts; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					tr, err := f.svc.StartRun(ctx, f.key, tn.ID, "deploy-2026-11-24")
					triggers[i], errs[i] = tr.TriggerID, err
				}(i)
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("start %d: %v", i, err)
				}
				if triggers[i] != triggers[0] {
					t.Fatalf("start %d got trigger %s, start 0 got %s", i, triggers[i], triggers[0])
				}
			}
			runs, err := f.svc.ListRuns(ctx, f.hub, tn.ID, integrations.PageInput{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(runs.Runs) != 1 || runs.Runs[0].ID != triggers[0] {
				t.Fatalf("%d runs, want 1 with trigger %s", len(runs.Runs), triggers[0])
			}
		})
	}
}

// deleteRacingTable is the table as a delete of an integration sees it
// while a tenant of that integration is being created: the integration's
// tenants list (GSI2) has not caught up yet, and create runs once, just
// before the delete's first write addressing a key that at picks.
type deleteRacingTable struct {
	storage.Table
	at     func(storage.Key) bool
	create func()
	once   sync.Once
}

func (r *deleteRacingTable) Query(ctx context.Context, q storage.Query) (storage.Page, error) {
	if q.Index == keys.GSI2 {
		return storage.Page{}, nil
	}
	return r.Table.Query(ctx, q)
}

func (r *deleteRacingTable) Write(ctx context.Context, ops ...storage.Op) error {
	for _, op := range ops {
		if r.at(op.Target()) {
			r.once.Do(r.create)
			break
		}
	}
	return r.Table.Write(ctx, ops...)
}

func TestATenantCreatedDuringItsIntegrationsDeleteStopsTheDeleteOrIsRefused(t *testing.T) {
	for name, open := range adapters {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, open(t))
			lockKey := func(id string) func(storage.Key) bool {
				return func(k storage.Key) bool { return k == keys.IntegrationDeleteLock(f.hub.Org, id) }
			}
			integrationKey := func(id string) func(storage.Key) bool {
				return func(k storage.Key) bool { return k == keys.Integration(f.hub.Org, id) }
			}
			liveTenants := func(id string) int {
				page, err := f.table.Query(ctx, storage.Query{Index: keys.GSI2, PK: keys.IntegrationTenantsScope(f.hub.Org, id)})
				if err != nil {
					t.Fatal(err)
				}
				return len(page.Items)
			}
			notFound := errors.New("integration not found")
			// released: a delete that did not go through left no lock, and
			// the integration takes new tenants at once.
			released := func(t *testing.T, id string) {
				t.Helper()
				if _, err := f.table.Get(ctx, keys.IntegrationDeleteLock(f.hub.Org, id)); !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("the delete left its lock: %v", err)
				}
				if _, err := f.svc.CreateTenant(ctx, f.hub, integrations.TenantInput{IntegrationID: id, EndUserID: "after-" + ids.New()}); err != nil {
					t.Fatalf("a tenant after the delete: %v", err)
				}
			}

			t.Run("a tenant created before the lock, which the lagging list misses, stops the delete", func(t *testing.T) {
				d := f.integration(f.hub, "Created before the lock", true)
				var created integrations.Tenant
				racing := &deleteRacingTable{Table: f.table, at: lockKey(d.ID), create: func() { created = f.tenant(d.ID, "early-customer") }}
				svc := &integrations.Service{Table: racing, Now: time.Now}
				if err := svc.DeleteIntegration(ctx, f.hub, d.ID); codeOf(err) != "integration_has_tenants" {
					t.Fatalf("delete: %v, want integration_has_tenants", err)
				}
				if _, _, err := f.svc.GetIntegration(ctx, f.hub, d.ID); err != nil {
					t.Fatalf("the integration of a live tenant was deleted: %v", err)
				}
				if created.ID == "" || liveTenants(d.ID) != 1 {
					t.Fatalf("the tenant created during the delete is not live (%+v)", created)
				}
				released(t, d.ID)
			})

			t.Run("a tenant created after the registry was read is refused, and the delete goes through", func(t *testing.T) {
				d := f.integration(f.hub, "Created after the read", true)
				var createErr, installErr, installRefusal error
				racing := &deleteRacingTable{Table: f.table, at: integrationKey(d.ID), create: func() {
					_, createErr = f.svc.CreateTenant(ctx, f.hub, integrations.TenantInput{IntegrationID: d.ID, EndUserID: "late-customer"})
					install, err := integrations.InstallOps(f.hub.Org, d.ID, "late-end-user", nil, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					installErr = f.table.Write(ctx, install.Ops...)
					installRefusal = install.Refusal(installErr, notFound)
				}}
				svc := &integrations.Service{Table: racing, Now: time.Now}
				if err := svc.DeleteIntegration(ctx, f.hub, d.ID); err != nil {
					t.Fatalf("delete: %v", err)
				}
				if codeOf(createErr) != "integration_being_deleted" {
					t.Fatalf("a tenant created while the delete held the lock: %v, want integration_being_deleted", createErr)
				}
				if installErr == nil || codeOf(installRefusal) != "integration_being_deleted" {
					t.Fatalf("a marketplace install while the delete held the lock: %v (refusal %v), want integration_being_deleted", installErr, installRefusal)
				}
				if n := liveTenants(d.ID); n != 0 {
					t.Fatalf("%d live tenants of the deleted integration", n)
				}
				if _, err := f.svc.CreateTenant(ctx, f.hub, integrations.TenantInput{IntegrationID: d.ID, EndUserID: "later-customer"}); fieldOf(err) != "integration_id" || codeOf(err) != "integration_not_found" {
					t.Fatalf("a tenant of the deleted integration: %v, want integration_not_found on integration_id", err)
				}
			})

			t.Run("an edit during the delete stops it, and its lock is released", func(t *testing.T) {
				d := f.integration(f.hub, "Edited during its delete", true)
				racing := &deleteRacingTable{Table: f.table, at: integrationKey(d.ID), create: func() {
					if _, _, err := f.svc.UpdateIntegration(ctx, f.hub, d.ID, 0, integrations.IntegrationInput{Name: ptr("Renamed during its delete")}); err != nil {
						t.Fatal(err)
					}
				}}
				svc := &integrations.Service{Table: racing, Now: time.Now}
				if err := svc.DeleteIntegration(ctx, f.hub, d.ID); codeOf(err) != "changed_concurrently" {
					t.Fatalf("a delete of an integration edited since it was read: %v, want changed_concurrently", err)
				}
				released(t, d.ID)
			})

			t.Run("a second delete while the first holds the lock is refused", func(t *testing.T) {
				d := f.integration(f.hub, "Deleted twice at once", true)
				var second error
				racing := &deleteRacingTable{Table: f.table, at: integrationKey(d.ID), create: func() { second = f.svc.DeleteIntegration(ctx, f.hub, d.ID) }}
				svc := &integrations.Service{Table: racing, Now: time.Now}
				if err := svc.DeleteIntegration(ctx, f.hub, d.ID); err != nil {
					t.Fatalf("first delete: %v", err)
				}
				if codeOf(second) != "integration_being_deleted" {
					t.Fatalf("second delete: %v, want integration_being_deleted", second)
				}
			})
		})
	}
}

func TestATenantsMarkerInItsIntegrationsRegistryFollowsItsLife(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, embeddedTable(t))
	d := f.integration(f.hub, "Registry", true)
	tn := f.tenant(d.ID, "customer-1")
	marker := keys.IntegrationLiveTenant(f.hub.Org, d.ID, tn.ID)
	if it, err := f.table.Get(ctx, marker); err != nil || it.Type != integrations.LiveTenantType {
		t.Fatalf("a new tenant's marker: %+v, %v", it, err)
	}
	if _, _, err := f.svc.UpdateTenant(ctx, f.hub, tn.ID, 0, integrations.TenantUpdate{Status: ptr(integrations.TenantPaused)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.table.Get(ctx, marker); err != nil {
		t.Fatalf("a paused tenant is live and keeps its marker: %v", err)
	}
	if err := f.svc.ArchiveTenant(ctx, f.hub, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.table.Get(ctx, marker); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an archived tenant's marker: %v, want it removed", err)
	}
	if err := f.svc.DeleteIntegration(ctx, f.hub, d.ID); err != nil {
		t.Fatalf("delete once the only tenant is archived: %v", err)
	}
}

// answerLostTable applies the first write that picks, then answers it as
// the SDK's retry of a call whose answer was lost would: with the outcome
// of the same write sent again.
type answerLostTable struct {
	storage.Table
	picks func(ops []storage.Op) bool
	done  bool
}

func (r *answerLostTable) Write(ctx context.Context, ops ...storage.Op) error {
	if r.done || !r.picks(ops) {
		return r.Table.Write(ctx, ops...)
	}
	r.done = true
	if err := r.Table.Write(ctx, ops...); err != nil {
		return err
	}
	return r.Table.Write(ctx, ops...)
}

func TestADeleteWhoseLockWasWrittenByALostAnswerGoesThrough(t *testing.T) {
	for name, open := range adapters {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, open(t))
			d := f.integration(f.hub, "Lost answer", true)
			lost := &answerLostTable{Table: f.table, picks: func(ops []storage.Op) bool {
				return len(ops) == 1 && ops[0].Target() == keys.IntegrationDeleteLock(f.hub.Org, d.ID)
			}}
			svc := &integrations.Service{Table: lost, Now: time.Now}
			if err := svc.DeleteIntegration(ctx, f.hub, d.ID); err != nil {
				t.Fatalf("delete: %v, want it to find its own lock and go through", err)
			}
			if !lost.done {
				t.Fatal("the lock's write was never answered as lost")
			}
			if _, _, err := f.svc.GetIntegration(ctx, f.hub, d.ID); codeOf(err) != "integration_not_found" {
				t.Fatalf("the integration after its delete: %v", err)
			}
			if _, err := f.table.Get(ctx, keys.IntegrationDeleteLock(f.hub.Org, d.ID)); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("the delete left its lock: %v", err)
			}
		})
	}
}

func TestAnIntegrationFromBeforeTheRegistryIsNotDeletedFromUnderATenantWithoutAMarker(t *testing.T) {
	for name, open := range adapters {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, open(t))
			d := f.integration(f.hub, "Legacy", true)
			tn := f.tenant(d.ID, "legacy-customer")
			// As written before the registry: the integration without its
			// flag, the tenant without its marker.
			it, err := f.table.Get(ctx, keys.Integration(f.hub.Org, d.ID))
			if err != nil {
				t.Fatal(err)
			}
			legacy, err := integrations.IntegrationFromItem(it)
			if err != nil || !legacy.TenantRegistry {
				t.Fatalf("a new integration: %+v, %v; want it flagged as registered", legacy, err)
			}
			legacy.TenantRegistry = false
			item, err := legacy.Item(it.Version + 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.table.Write(ctx, storage.Put(item, storage.VersionIs(it.Version)), storage.Delete(keys.IntegrationLiveTenant(f.hub.Org, d.ID, tn.ID), storage.Present())); err != nil {
				t.Fatal(err)
			}
			counting := storagetest.NewCounting(f.table)
			svc := &integrations.Service{Table: counting, Now: time.Now}
			if err := svc.DeleteIntegration(ctx, f.hub, d.ID); codeOf(err) != "integration_has_tenants" {
				t.Fatalf("delete of a legacy integration with a tenant without a marker: %v, want integration_has_tenants", err)
			}
			if err := f.svc.ArchiveTenant(ctx, f.hub, tn.ID); err != nil {
				t.Fatal(err)
			}
			if err := svc.DeleteIntegration(ctx, f.hub, d.ID); err != nil {
				t.Fatalf("delete once the tenant is archived: %v", err)
			}
			// A registered integration's delete reads no GSI2: the
			// integration, the lock, the registry and the delete.
			fresh := f.integration(f.hub, "Registered", true)
			before := counting.Queries() + counting.Reads() + counting.Writes()
			if err := svc.DeleteIntegration(ctx, f.hub, fresh.ID); err != nil {
				t.Fatal(err)
			}
			if calls := counting.Queries() + counting.Reads() + counting.Writes() - before; calls != 4 {
				t.Fatalf("a registered integration's delete made %d calls, want 4", calls)
			}
		})
	}
}
