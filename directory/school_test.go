package directory_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

func trustFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.d = directory.New(f.s, directory.Config{Now: func() time.Time { return f.now },
		Schools: []directory.School{{ID: "north", Name: "Northgate"}, {ID: "south", Name: "Southfield"}}})
	return f
}

// TestDocumentsForSchool: a school's account weighs its school's and the
// trust's documents, the newest of them current; another school's never.
func TestDocumentsForSchool(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	docs := []directory.AUPDocument{
		{ID: 1, Audience: "staff", Version: "trust-1", PublishedAt: t0},
		{ID: 2, Audience: "staff", Version: "north-1", School: "north", PublishedAt: t0.Add(time.Hour)},
		{ID: 3, Audience: "staff", Version: "south-1", School: "south", PublishedAt: t0.Add(2 * time.Hour)},
	}
	at := t0.Add(3 * time.Hour)
	for school, want := range map[string]string{"north": "north-1", "south": "south-1", "": "trust-1", "west": "trust-1"} {
		cur, ok := directory.CurrentDocument(directory.DocumentsFor(docs, school), "staff", at)
		if !ok || cur.Version != want {
			t.Errorf("%q: current %q, want %q", school, cur.Version, want)
		}
	}
	// A trust-wide version newer than a school's is current there too.
	docs = append(docs, directory.AUPDocument{ID: 4, Audience: "staff", Version: "trust-2", PublishedAt: t0.Add(4 * time.Hour)})
	if cur, _ := directory.CurrentDocument(directory.DocumentsFor(docs, "north"), "staff", t0.Add(5*time.Hour)); cur.Version != "trust-2" {
		t.Errorf("trust-wide new version at north: %q", cur.Version)
	}
	// The gate: signed north-1 counts at north, not once moved to south.
	p := directory.GatePolicy{}
	a := directory.Account{Username: "n", Role: directory.RoleStaff, Status: directory.StatusActive, School: "north"}
	f := directory.Facts{Account: a, Documents: docs[:3], Signatures: []directory.Signature{{DocumentID: 2, SignedAt: t0.Add(time.Hour)}}}
	if d := p.Decide(f, directory.ServiceLDAP, at); !d.Allow {
		t.Errorf("north signed north-1: %+v", d)
	}
	f.Account.School = "south"
	if d := p.Decide(f, directory.ServiceLDAP, at); d.Reason != directory.ReasonAUPUnsigned {
		t.Errorf("moved to south: %+v", d)
	}
}

// TestPublishAUPForSchool: a document names a configured school; its
// version is named once across the trust.
func TestPublishAUPForSchool(t *testing.T) {
	ctx := context.Background()
	f := trustFixture(t)
	if _, err := f.d.PublishAUP(ctx, "test", directory.AUPDocument{Audience: "staff", Version: "2026-09", Text: "n", School: "north"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.d.PublishAUP(ctx, "test", directory.AUPDocument{Audience: "staff", Version: "2026-09", Text: "s", School: "south"})
	if !errors.Is(err, directory.ErrConflict) || !containsAll(err.Error(), "school north", "south-2026-09") {
		t.Errorf("same version at another school: %v", err)
	}
	if _, err := f.d.PublishAUP(ctx, "test", directory.AUPDocument{Audience: "staff", Version: "w-1", Text: "w", School: "west"}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("unknown school: %v", err)
	}
	if ev := lastEvent(t, f.s); ev.Action != audit.ActionAUPPublish || !containsAll(string(ev.After), `"school":"north"`) {
		t.Errorf("publish event: %s %s", ev.Action, ev.After)
	}
}

// TestScopedStore: through a school's scope, another school's account
// cannot be read, changed or made, lists hold the school's (and its dual
// registrations), and each refusal is told.
func TestScopedStore(t *testing.T) {
	ctx := context.Background()
	f := trustFixture(t)
	f.account(t, directory.Account{Username: "npupil", Role: directory.RolePupil, School: "north"}, "")
	s := f.account(t, directory.Account{Username: "spupil", Role: directory.RolePupil, School: "south"}, "")
	f.account(t, directory.Account{Username: "dpupil", Role: directory.RolePupil, School: "south", AlsoSchools: []string{"north"}}, "")
	var refused []string
	sc := directory.Scoped(f.s, directory.SchoolScope{School: "north"}, func(a directory.Account) { refused = append(refused, a.Username) })
	if _, err := sc.AccountByUsername(ctx, "npupil"); err != nil {
		t.Error(err)
	}
	if _, err := sc.Account(ctx, s.ID); !errors.Is(err, directory.ErrOutOfScope) {
		t.Errorf("read south's pupil: %v", err)
	}
	as, err := sc.ListAccounts(ctx, directory.AccountQuery{})
	if err != nil || len(as) != 2 {
		t.Errorf("north's list: %v %v", as, err)
	}
	d := directory.New(sc, directory.Config{Now: func() time.Time { return f.now }})
	if _, err := d.Suspend(ctx, "test", s, directory.Suspension{Reason: "x"}); !errors.Is(err, directory.ErrOutOfScope) {
		t.Errorf("suspend south's pupil through north's scope: %v", err)
	}
	err = sc.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.UpdateAccount(ctx, s.ID, func(a *directory.Account) error { a.School = "north"; return nil })
		return err
	})
	if !errors.Is(err, directory.ErrOutOfScope) {
		t.Errorf("update south's pupil: %v", err)
	}
	err = sc.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		return tx.CreateAccount(ctx, &directory.Account{Username: "new", Role: directory.RolePupil, School: "south"})
	})
	if !errors.Is(err, directory.ErrOutOfScope) {
		t.Errorf("create at south: %v", err)
	}
	if len(refused) < 3 || !slices.Contains(refused, "spupil") {
		t.Errorf("refusals told: %v", refused)
	}
	// The trust's scope is the store itself.
	if directory.Scoped(f.s, directory.SchoolScope{}, nil) != f.s {
		t.Error("trust scope wraps the store")
	}
}

// TestTransferAndDualRegistration: a transfer keeps the account, leaves
// the old school's MIS groups, finds the year group at the new school,
// and is audited with the account's snapshots; dual registration adds
// schools to one account.
func TestTransferAndDualRegistration(t *testing.T) {
	ctx := context.Background()
	f := trustFixture(t)
	p := f.account(t, directory.Account{Username: "mover", Role: directory.RolePupil, YearGroup: "8", School: "south"}, "")
	if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		for _, name := range []string{"south-year-8", "north-year-8", "south-8b", "pupils", "south-pupils", "north-pupils"} {
			g := directory.Group{Name: name, Kind: directory.GroupYear, Source: directory.SourceMIS}
			if name == "south-8b" {
				g.Kind = directory.GroupReg
			}
			if strings.HasSuffix(name, "pupils") {
				g.Kind = directory.GroupRole
			}
			if err := tx.CreateGroup(ctx, &g); err != nil {
				return err
			}
			if !strings.HasPrefix(name, "north-") {
				if err := tx.AddMember(ctx, g.ID, p.ID); err != nil {
					return err
				}
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "groups"})
	}); err != nil {
		t.Fatal(err)
	}
	moved, err := f.d.TransferAccount(ctx, "test", "mover", "north")
	if err != nil {
		t.Fatal(err)
	}
	if moved.ID != p.ID || moved.UUID != p.UUID || moved.UIDNumber != p.UIDNumber || moved.School != "north" {
		t.Errorf("moved: %+v", moved)
	}
	gs, err := f.s.GroupsOf(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range gs {
		names = append(names, g.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"north-pupils", "north-year-8", "pupils"}) {
		t.Errorf("groups after transfer: %v", names)
	}
	evs, err := f.s.AuditEventsAbout(ctx, "account:mover", 0, 100)
	if err != nil || len(evs) == 0 || evs[len(evs)-1].Action != audit.ActionAccountTransfer {
		t.Fatalf("transfer event: %v %v", evs, err)
	}
	if ev := evs[len(evs)-1]; !containsAll(string(ev.Before), `"school":"south"`) || !containsAll(string(ev.After), `"school":"north"`) {
		t.Errorf("transfer snapshots: %s → %s", ev.Before, ev.After)
	}
	if _, err := f.d.TransferAccount(ctx, "test", "mover", "north"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("transfer to the same school: %v", err)
	}
	if _, err := f.d.TransferAccount(ctx, "test", "mover", "west"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("transfer to an unknown school: %v", err)
	}
	dual, err := f.d.SetAlsoSchools(ctx, "test", "mover", []string{"south"})
	if err != nil || !slices.Equal(dual.AlsoSchools, []string{"south"}) {
		t.Fatalf("dual registration: %+v %v", dual, err)
	}
	if _, err := f.d.SetAlsoSchools(ctx, "test", "mover", []string{"north"}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("own school as a second: %v", err)
	}
	// Moving to the school it was also at ends that dual registration.
	if back, err := f.d.TransferAccount(ctx, "test", "mover", "south"); err != nil || len(back.AlsoSchools) != 0 {
		t.Errorf("transfer to the second school: %+v %v", back, err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// TestReviewPerSchool: a school's review lists its people and is recorded
// apart, so its next review falls due from its own, not the trust's.
func TestReviewPerSchool(t *testing.T) {
	ctx := context.Background()
	f := trustFixture(t)
	f.account(t, directory.Account{Username: "nguest", Role: directory.RoleGuest, School: "north"}, "")
	f.account(t, directory.Account{Username: "sguest", Role: directory.RoleGuest, School: "south"}, "")
	north, err := f.d.Review(ctx, directory.ReviewPolicy{School: "north"})
	if err != nil {
		t.Fatal(err)
	}
	if len(north.Items) != 1 || north.Items[0].Username != "nguest" || !north.LastReview.IsZero() {
		t.Fatalf("north's review: %+v", north)
	}
	if err := f.d.RecordReview(ctx, "test", directory.ReviewRecord{School: "north",
		Decisions: []directory.ReviewDecision{{Username: "nguest", Reason: "visiting all term"}}}); err != nil {
		t.Fatal(err)
	}
	if north, err = f.d.Review(ctx, directory.ReviewPolicy{School: "north"}); err != nil || north.LastReview.IsZero() {
		t.Errorf("north's review after recording it: %+v %v", north, err)
	}
	if trust, err := f.d.Review(ctx, directory.ReviewPolicy{}); err != nil || !trust.LastReview.IsZero() || len(trust.Items) != 2 {
		t.Errorf("the trust's review: %+v %v", trust, err)
	}
	f.account(t, directory.Account{Username: "tguest", Role: directory.RoleGuest}, "")
	if own, err := f.d.Review(ctx, directory.ReviewPolicy{School: directory.TrustScope}); err != nil || len(own.Items) != 1 || own.Items[0].Username != "tguest" {
		t.Errorf("the trust's own people's review: %+v %v", own, err)
	}
}
