package users_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/integration-hub/hub/internal/apperr"
	"github.com/integration-hub/hub/internal/ids"
	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/operator"
	"github.com/integration-hub/hub/internal/orgs"
	"github.com/integration-hub/hub/internal/outbox"
	"github.com/integration-hub/hub/internal/passwords"
	"github.com/integration-hub/hub/internal/principal"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sessions"
	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/storage/storagetest"
	"github.com/integration-hub/hub/internal/testenv"
	"github.com/integration-hub/hub/internal/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const password = "correct horse battery"

type fixture struct {
	t     *testing.T
	table storage.Table
	svc   *users.Service
	box   *secrets.Box
	org   string
	admin principal.Principal
}

func embeddedTable(t *testing.T) storage.Table { return testenv.EmbeddedTable(t) }

func dynamoTable(t *testing.T) storage.Table { return testenv.DynamoDBTable(t) }

// newFixture creates an organization whose administrator has accepted the
// invitation.
func newFixture(t *testing.T, table storage.Table, plan principal.Plan) *fixture {
	t.Helper()
	keyring, err := secrets.NewKeyring(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sessions.NewSigner(keyring.Derive(sessions.KeyPurpose), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, table: table, box: keyring.Box("outbox")}
	f.svc = &users.Service{
		Table: table, Box: f.box, Links: users.Links{Base: "https://hub.test"}, Sessions: signer,
		Hashing: passwords.Params{MemoryKiB: 64, Time: 1, Threads: 1}, Now: time.Now,
	}
	created, err := operator.Create(context.Background(), table, operator.CreateInput{Name: "Acme", Plan: plan, AdminEmail: "admin-" + strings.ToLower(ids.New()) + "@acme.test"}, f.svc.Links, f.box, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.org = created.Org.ID
	f.admin = principal.Principal{Kind: principal.HubUser, Org: f.org, Subject: created.AdminID, Plan: plan}
	f.accept(created.Admin.Email, "Admin")
	return f
}

// linkFor finds the newest email link sent to an address, by opening the
// sealed fields of the organization's outbox events.
func (f *fixture) linkFor(email string) string {
	f.t.Helper()
	page, err := f.table.Query(context.Background(), storage.Query{PK: keys.OrgPK(f.org), Sort: storage.SortPrefix, From: "EVENT#", Descending: true, Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, it := range page.Items {
		ev, err := outbox.FromItem(it)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(ev.To) == 1 && ev.To[0] == email {
			link, err := f.box.Open(ev.Sealed["link"], ev.SealedContext())
			if err != nil {
				f.t.Fatal(err)
			}
			return string(link)
		}
	}
	f.t.Fatalf("no email to %s in the outbox", email)
	return ""
}

func tokenOf(t *testing.T, link string) string {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	v, err := url.ParseQuery(u.Fragment)
	if err != nil {
		t.Fatal(err)
	}
	return v.Get("token")
}

func (f *fixture) accept(email, name string) users.Session {
	f.t.Helper()
	s, err := f.svc.AcceptInvitation(context.Background(), users.AcceptInput{Token: tokenOf(f.t, f.linkFor(email)), Name: name, Password: password})
	if err != nil {
		f.t.Fatalf("accept invitation of %s: %v", email, err)
	}
	return s
}

func (f *fixture) invite(p principal.Principal, email string) users.View {
	f.t.Helper()
	v, err := f.svc.Invite(context.Background(), p, users.InviteInput{Email: email})
	if err != nil {
		f.t.Fatalf("invite %s: %v", email, err)
	}
	return v
}

func code(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return "uncoded: " + err.Error()
}

func TestInvitedUserAcceptsSignsInAndIsListed(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	v := f.invite(f.admin, " Grace@Acme.TEST ")
	if v.Email != "grace@acme.test" || v.Status != users.Invited || v.InvitedAt == nil {
		t.Fatalf("invited view = %+v", v)
	}
	link := f.linkFor("grace@acme.test")
	if !strings.HasPrefix(link, "https://hub.test/accept-invitation#token=") {
		t.Fatalf("link %q", link)
	}
	if _, err := f.svc.SignIn(ctx, "grace@acme.test", password); code(err) != "invalid_credentials" {
		t.Fatalf("an invited user signed in before accepting: %v", err)
	}
	f.accept("grace@acme.test", "Grace Hopper")
	if _, err := f.svc.AcceptInvitation(ctx, users.AcceptInput{Token: tokenOf(t, link), Name: "Again", Password: password}); code(err) != "invalid_token" {
		t.Fatalf("an invitation was used twice: %v", err)
	}
	sess, err := f.svc.SignIn(ctx, "GRACE@acme.test", password)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Token == "" || sess.User.Name != "Grace Hopper" || sess.User.Status != users.Active {
		t.Fatalf("session = %+v", sess)
	}
	for _, sort := range []string{"email", "name"} {
		page, err := f.svc.List(ctx, f.admin, users.ListInput{Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Users) != 2 {
			t.Fatalf("sorted by %s: %d users, want 2", sort, len(page.Users))
		}
		for _, u := range page.Users {
			if u.Role != users.RoleHubUser || u.Org != f.org {
				t.Fatalf("listed %+v without its role and organization", u)
			}
		}
	}
}

func TestSignInNeverTellsWhetherAnEmailExistsAndLocksOutAfterFailures(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	f.invite(f.admin, "eve@acme.test")
	f.accept("eve@acme.test", "Eve")
	for _, email := range []string{"eve@acme.test", "nobody@acme.test", "not-an-email"} {
		if _, err := f.svc.SignIn(ctx, email, "wrong password!"); code(err) != "invalid_credentials" {
			t.Fatalf("%s: %v", email, err)
		}
	}
	for i := 0; i < users.DefaultMaxFailedSignIns; i++ {
		_, _ = f.svc.SignIn(ctx, "nobody@acme.test", "wrong password!")
		_, _ = f.svc.SignIn(ctx, "eve@acme.test", "wrong password!")
	}
	if _, err := f.svc.SignIn(ctx, "eve@acme.test", password); code(err) != "too_many_attempts" {
		t.Fatalf("the right password after repeated failures: %v, want too_many_attempts", err)
	}
	if _, err := f.svc.SignIn(ctx, "nobody@acme.test", password); code(err) != "too_many_attempts" {
		t.Fatalf("an unknown address was not locked out like a known one: %v", err)
	}
}

func TestForgotPasswordAnswersTheSameAndResetEndsSessions(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	f.invite(f.admin, "bob@acme.test")
	first := f.accept("bob@acme.test", "Bob")
	if err := f.svc.ForgotPassword(ctx, "nobody@acme.test"); err != nil {
		t.Fatalf("forgot password for an unknown address: %v", err)
	}
	if err := f.svc.ForgotPassword(ctx, "bob@acme.test"); err != nil {
		t.Fatal(err)
	}
	link := f.linkFor("bob@acme.test")
	if !strings.Contains(link, "/reset-password#token=") {
		t.Fatalf("newest email to bob is not a reset: %s", link)
	}
	if err := f.svc.ResetPassword(ctx, users.ResetInput{Token: tokenOf(t, link), Password: "short"}); code(err) != "weak_password" {
		t.Fatalf("weak password: %v", err)
	}
	if err := f.svc.ResetPassword(ctx, users.ResetInput{Token: tokenOf(t, link), Password: "a brand new passphrase"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ResetPassword(ctx, users.ResetInput{Token: tokenOf(t, link), Password: "a third passphrase"}); code(err) != "invalid_token" {
		t.Fatalf("reset link used twice: %v", err)
	}
	sess, err := f.svc.SignIn(ctx, "bob@acme.test", "a brand new passphrase")
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := f.svc.Sessions.Verify(first.Token)
	c2, _ := f.svc.Sessions.Verify(sess.Token)
	if c2.TokenVersion <= c1.TokenVersion {
		t.Fatalf("token version %d after reset, %d before: old sessions would still pass", c2.TokenVersion, c1.TokenVersion)
	}
}

func TestThePrimaryAdministratorCannotBeDeleted(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	err := f.svc.Delete(ctx, f.admin, f.admin.Subject)
	if code(err) != "primary_administrator" || apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("delete primary administrator: %v", err)
	}
	if _, err := f.svc.Get(ctx, f.admin, f.admin.Subject); err != nil {
		t.Fatalf("primary administrator gone: %v", err)
	}
	v := f.invite(f.admin, "temp@acme.test")
	if err := f.svc.Delete(ctx, f.admin, v.ID); err != nil {
		t.Fatal(err)
	}
	// The address is free again once its user is deleted.
	f.invite(f.admin, "temp@acme.test")
}

func TestPartnerUsersSeeOnlyTheirOwnPartner(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	mk := func(name, email string) (users.PartnerView, principal.Principal) {
		pv, err := f.svc.CreatePartner(ctx, f.admin, users.PartnerInput{Name: name, Mode: "create", FirstUser: &users.InviteInput{Email: email}})
		if err != nil {
			t.Fatal(err)
		}
		s := f.accept(email, name+" user")
		return pv, principal.Principal{Kind: principal.PartnerUser, Org: f.org, Subject: s.User.ID, Partner: pv.ID, Plan: principal.Standard}
	}
	_, pu1 := mk("Partner One", "one@p1.test")
	_, pu2 := mk("Partner Two", "two@p2.test")
	colleague := f.invite(pu1, "colleague@p1.test")
	if colleague.Partner != pu1.Partner || colleague.Role != users.RolePartnerUser {
		t.Fatalf("a partner user invited %+v outside their partner", colleague)
	}
	page, err := f.svc.List(ctx, pu1, users.ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Users) != 2 {
		t.Fatalf("partner one sees %d users, want its 2", len(page.Users))
	}
	for _, u := range page.Users {
		if u.Partner != pu1.Partner || u.Primary {
			t.Fatalf("partner one sees %+v", u)
		}
	}
	for name, id := range map[string]string{"organization's user": f.admin.Subject, "other partner's user": pu2.Subject} {
		if _, err := f.svc.Get(ctx, pu1, id); code(err) != "user_not_found" {
			t.Errorf("get %s: %v", name, err)
		}
		if err := f.svc.Delete(ctx, pu1, id); code(err) != "user_not_found" {
			t.Errorf("delete %s: %v", name, err)
		}
	}
	all, err := f.svc.List(ctx, f.admin, users.ListInput{Sort: "name"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Users) != 4 {
		t.Fatalf("the organization sees %d users, want 4 (admin, two partner users, a colleague)", len(all.Users))
	}
	for _, u := range all.Users {
		if u.Primary != (u.ID == f.admin.Subject) {
			t.Fatalf("the organization's list marks %s primary administrator: %v", u.Email, u.Primary)
		}
	}
	if _, err := f.svc.CreatePartner(ctx, pu1, users.PartnerInput{Name: "Sneaky"}); code(err) != "hub_users_only" {
		t.Fatalf("a partner user created a partner: %v", err)
	}
}

func TestListPagesThroughEveryUserOnce(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	for i := 0; i < 23; i++ {
		f.invite(f.admin, fmt.Sprintf("user%02d@acme.test", i))
	}
	seen := map[string]bool{}
	in := users.ListInput{Limit: 5}
	for pages := 0; ; pages++ {
		page, err := f.svc.List(ctx, f.admin, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			if seen[u.ID] {
				t.Fatalf("%s listed twice", u.Email)
			}
			seen[u.ID] = true
		}
		if page.Cursor == "" {
			break
		}
		in.Cursor = page.Cursor
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(seen) != 24 {
		t.Fatalf("listed %d users, want 24", len(seen))
	}
	other := newFixture(t, f.table, principal.Standard)
	first, _ := f.svc.List(ctx, f.admin, users.ListInput{Limit: 5})
	if _, err := f.svc.List(ctx, other.admin, users.ListInput{Cursor: first.Cursor}); !errors.Is(err, storage.ErrBadCursor) {
		t.Fatalf("another organization replayed a cursor: %v", err)
	}
}

func TestConcurrentInvitationsOfOneEmailCreateOneUser(t *testing.T) {
	f := newFixture(t, dynamoTable(t), principal.Standard)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, results[i] = f.svc.Invite(ctx, f.admin, users.InviteInput{Email: "race@acme.test"})
		}(i)
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case code(err) == "email_unavailable":
		case errors.Is(err, storage.ErrConflict):
		default:
			t.Errorf("unexpected outcome: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d invitations succeeded, want exactly 1", wins)
	}
	page, err := f.svc.List(ctx, f.admin, users.ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range page.Users {
		if u.Email == "race@acme.test" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d users with the address, want 1", n)
	}
}

// A change of primary administrator races a delete of either user it
// names: the incoming candidate, or the outgoing administrator. Whichever
// wins, every round ends with exactly one user item of the organization
// flagged primary, the one the profile names, and that user exists: the
// delete of a user who is primary administrator never goes through. The
// change is asked alternately by the outgoing administrator (whose item the
// change reads with the caller's) and by a bystander hub user.
func TestPrimaryAdministratorChangeRacingADeleteKeepsExactlyOne(t *testing.T) {
	for _, store := range []struct {
		name  string
		table func(*testing.T) storage.Table
	}{
		{"embedded", embeddedTable},
		{"DynamoDB Local", dynamoTable},
	} {
		for _, race := range []struct {
			name string
			// victim is, of the outgoing administrator and the
			// incoming candidate, the user the delete races for.
			victim func(outgoing, incoming string) string
		}{
			{"delete of the incoming candidate", func(_, incoming string) string { return incoming }},
			{"delete of the outgoing administrator", func(outgoing, _ string) string { return outgoing }},
		} {
			t.Run(store.name+"/"+race.name, func(t *testing.T) {
				f := newFixture(t, store.table(t), principal.Standard)
				ctx := context.Background()
				f.invite(f.admin, "bystander@acme.test")
				bystander := principal.Principal{Kind: principal.HubUser, Org: f.org, Subject: f.accept("bystander@acme.test", "Bystander").User.ID, Plan: principal.Standard}
				outgoing := f.admin.Subject
				for round := 0; round < 10; round++ {
					email := fmt.Sprintf("candidate%d@acme.test", round)
					f.invite(bystander, email)
					incoming := f.accept(email, "Candidate").User.ID
					victim := race.victim(outgoing, incoming)
					changer := bystander
					if round%2 == 0 {
						changer = principal.Principal{Kind: principal.HubUser, Org: f.org, Subject: outgoing, Plan: principal.Standard}
					}
					before, err := f.table.Get(ctx, keys.Org(f.org))
					if err != nil {
						t.Fatal(err)
					}
					var wg sync.WaitGroup
					var changeErr, deleteErr error
					wg.Add(2)
					go func() {
						defer wg.Done()
						_, _, changeErr = f.svc.ChangePrimaryAdmin(ctx, changer, before.Version, incoming)
					}()
					go func() { defer wg.Done(); deleteErr = f.svc.Delete(ctx, bystander, victim) }()
					wg.Wait()
					// Each side either went through or was refused for
					// the race, never failed otherwise.
					for side, err := range map[string]error{"change": changeErr, "delete": deleteErr} {
						switch c := code(err); {
						case c == "" || c == "changed_concurrently" || c == "primary_administrator" || c == "user_not_found":
						case errors.Is(err, storage.ErrConflict):
						default:
							t.Fatalf("round %d: the %s failed: %v", round, side, err)
						}
					}

					o, err := orgs.FromItem(mustGet(t, f.table, keys.Org(f.org)))
					if err != nil {
						t.Fatal(err)
					}
					want := outgoing
					if changeErr == nil {
						want = incoming
					}
					if o.PrimaryAdmin != want {
						t.Fatalf("round %d: the profile names %s; the change answered %v, so want %s", round, o.PrimaryAdmin, changeErr, want)
					}
					if deleteErr == nil && victim == o.PrimaryAdmin {
						t.Fatalf("round %d: the primary administrator %s was deleted (change: %v)", round, victim, changeErr)
					}
					if _, err := f.svc.Get(ctx, f.admin, o.PrimaryAdmin); err != nil {
						t.Fatalf("round %d: the primary administrator %s does not exist: %v", round, o.PrimaryAdmin, err)
					}
					_, err = f.svc.Get(ctx, f.admin, victim)
					if gone := code(err) == "user_not_found"; gone != (deleteErr == nil) {
						t.Fatalf("round %d: the delete answered %v, and the user is gone: %v (%v)", round, deleteErr, gone, err)
					}
					if flagged := primaryFlagged(t, f.table, f.org); fmt.Sprint(flagged) != fmt.Sprint([]string{o.PrimaryAdmin}) {
						t.Fatalf("round %d: user items flagged primary: %v; want exactly the profile's %s (change: %v, delete: %v)", round, flagged, o.PrimaryAdmin, changeErr, deleteErr)
					}
					outgoing = o.PrimaryAdmin
				}
			})
		}
	}
}

func mustGet(t *testing.T, table storage.Table, k storage.Key) storage.Item {
	t.Helper()
	it, err := table.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// primaryFlagged are the ids of the organization's user items that carry
// the Primary flag, read from the table (a strongly consistent query of the
// organization's partition, never an index).
func primaryFlagged(t *testing.T, table storage.Table, org string) []string {
	t.Helper()
	var flagged []string
	q := storage.Query{PK: keys.OrgPK(org), Sort: storage.SortPrefix, From: keys.User(org, "").SK}
	for {
		page, err := table.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			u, err := users.FromItem(it)
			if err != nil {
				t.Fatal(err)
			}
			if u.Org != org {
				t.Fatalf("user item %s names organization %s", it.Key, u.Org)
			}
			if u.Primary {
				flagged = append(flagged, u.ID)
			}
		}
		if page.Cursor == "" {
			return flagged
		}
		q.Cursor = page.Cursor
	}
}

// The primary administrator's item is flagged, and the flag moves with the
// role in the profile's write: a page that holds the flagged user names the
// primary administrator without reading the profile; any other page, or an
// organization whose administrator was named before the flag, reads it.
func TestAPageOfUsersNamesThePrimaryAdministratorFromTheFlag(t *testing.T) {
	f := newFixture(t, embeddedTable(t), principal.Standard)
	ctx := context.Background()
	f.invite(f.admin, "b@acme.test")
	second := f.accept("b@acme.test", "B")
	counting := storagetest.NewCounting(f.table)
	svc := *f.svc
	svc.Table = counting
	// primaryOf lists every user, a page of limit at a time, and returns
	// who each page marks primary administrator and the profile reads
	// the pages made.
	primaryOf := func(limit int) (marked []string, profileReads int) {
		t.Helper()
		in := users.ListInput{Limit: limit}
		for {
			before := counting.Reads()
			page, err := svc.List(ctx, f.admin, in)
			if err != nil {
				t.Fatal(err)
			}
			profileReads += int(counting.Reads() - before)
			for _, u := range page.Users {
				if u.Primary {
					marked = append(marked, u.ID)
				}
			}
			if page.Cursor == "" {
				return marked, profileReads
			}
			in.Cursor = page.Cursor
		}
	}
	flagged := func(id string) bool {
		t.Helper()
		it, err := f.table.Get(ctx, keys.User(f.org, id))
		if err != nil {
			t.Fatal(err)
		}
		u, err := users.FromItem(it)
		if err != nil {
			t.Fatal(err)
		}
		return u.Primary
	}
	version := func() int64 {
		t.Helper()
		it, err := f.table.Get(ctx, keys.Org(f.org))
		if err != nil {
			t.Fatal(err)
		}
		return it.Version
	}

	if marked, reads := primaryOf(50); fmt.Sprint(marked) != fmt.Sprint([]string{f.admin.Subject}) || reads != 0 {
		t.Fatalf("a page with the administrator marks %v with %d profile reads; want %s and none", marked, reads, f.admin.Subject)
	}
	if marked, reads := primaryOf(1); len(marked) != 1 || reads != 1 {
		t.Fatalf("pages of one mark %v with %d profile reads; want one user, one read (the page without the administrator)", marked, reads)
	}

	// Handed over by the administrator, then back by the new one (from
	// another caller's hands each time).
	for _, step := range []struct{ by, to principal.Principal }{
		{f.admin, principal.Principal{Kind: principal.HubUser, Org: f.org, Subject: second.User.ID}},
		{principal.Principal{Kind: principal.HubUser, Org: f.org, Subject: second.User.ID}, f.admin},
	} {
		if _, _, err := f.svc.ChangePrimaryAdmin(ctx, step.by, version(), step.to.Subject); err != nil {
			t.Fatal(err)
		}
		if !flagged(step.to.Subject) || flagged(step.by.Subject) {
			t.Fatalf("after the change to %s: flags %v (new), %v (old)", step.to.Subject, flagged(step.to.Subject), flagged(step.by.Subject))
		}
		if marked, reads := primaryOf(50); fmt.Sprint(marked) != fmt.Sprint([]string{step.to.Subject}) || reads != 0 {
			t.Fatalf("after the change the list marks %v with %d profile reads", marked, reads)
		}
	}

	// Named before the flag existed: no user is flagged, and the profile
	// says.
	it, err := f.table.Get(ctx, keys.User(f.org, f.admin.Subject))
	if err != nil {
		t.Fatal(err)
	}
	it.Data = []byte(strings.Replace(string(it.Data), `,"primary":true`, "", 1))
	if err := f.table.Write(ctx, storage.Put(it, storage.Present())); err != nil {
		t.Fatal(err)
	}
	if flagged(f.admin.Subject) {
		t.Fatal("the flag was not removed")
	}
	if marked, reads := primaryOf(50); fmt.Sprint(marked) != fmt.Sprint([]string{f.admin.Subject}) || reads != 1 {
		t.Fatalf("without a flag the list marks %v with %d profile reads; want the profile's %s, one read", marked, reads, f.admin.Subject)
	}
}
