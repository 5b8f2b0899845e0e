package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// act makes one change at the fake clock's time, with its event, as the
// sync, the portal and the CLI do.
func (f *fixture) act(t *testing.T, at time.Time, action audit.Action, target string, before, after any, fn func(ctx context.Context, tx directory.Tx) error) {
	t.Helper()
	f.now = at
	if err := f.s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		if fn != nil {
			if err := fn(ctx, tx); err != nil {
				return err
			}
		}
		return f.d.Record(ctx, tx, "test", action, target, before, after)
	}); err != nil {
		t.Fatalf("%s %s: %v", action, target, err)
	}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

func (f *fixture) register(t *testing.T, asOf time.Time) map[string]audit.RegisterRow {
	t.Helper()
	out := map[string]audit.RegisterRow{}
	if err := f.d.Register(context.Background(), asOf, func(r audit.RegisterRow) error {
		if _, dup := out[r.Username]; dup {
			t.Errorf("%s appears twice", r.Username)
		}
		out[r.Username] = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRegisterAsOfAcrossAYear drives a school year through the real store
// with a fake clock (starters, a sign-up, consent, Wi-Fi, suspensions, a
// move up a year, a leaver disabled and purged, a starter) and reads the
// register as of dates through it.
func TestRegisterAsOfAcrossAYear(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	add := func(at time.Time, a directory.Account) directory.Account {
		f.now = at
		if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			return f.d.Record(ctx, tx, "sync", "account.create", "account:"+a.Username, nil, a.Snapshot())
		}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	update := func(at time.Time, a directory.Account, action audit.Action, fn func(*directory.Account)) directory.Account {
		f.now = at
		var after directory.Account
		if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			var err error
			if after, err = tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error { fn(x); return nil }); err != nil {
				return err
			}
			return f.d.Record(ctx, tx, "sync", action, "account:"+a.Username, a.Snapshot(), after.Snapshot())
		}); err != nil {
			t.Fatal(err)
		}
		return after
	}

	start := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
	alice := add(day(2025, 8, 28), directory.Account{Username: "25aadams", Role: directory.RolePupil, Source: directory.SourceMIS,
		MISID: "P100", GivenName: "Alice", FamilyName: "Adams", YearGroup: "7", RegGroup: "7A", StartDate: start})
	bob := add(day(2025, 8, 28), directory.Account{Username: "21bbrown", Role: directory.RolePupil, Source: directory.SourceMIS,
		MISID: "P200", GivenName: "Bob", FamilyName: "Brown", YearGroup: "11", RegGroup: "11C", StartDate: start})
	add(day(2025, 8, 28), directory.Account{Username: "cclark", Role: directory.RoleStaff, Source: directory.SourceMIS,
		MISID: "S1", GivenName: "Carol", FamilyName: "Clark", DisplayName: "Mrs Clark"})

	docs := map[string]directory.AUPDocument{}
	for _, aud := range []string{"pupil", "staff", "parent-permission"} {
		doc := directory.AUPDocument{Audience: aud, Version: "2025.1", Text: aud, Digest: "d-" + aud, PublishedAt: day(2025, 8, 1)}
		f.act(t, day(2025, 8, 1), "aup.publish", "aup:"+aud+"/2025.1", nil, map[string]string{"digest": doc.Digest},
			func(ctx context.Context, tx directory.Tx) error { return tx.AddAUPDocument(ctx, &doc) })
		docs[aud] = doc
	}
	sign := func(at time.Time, a directory.Account, doc directory.AUPDocument, method directory.SignMethod) {
		sig := directory.Signature{AccountID: a.ID, DocumentID: doc.ID, Digest: doc.Digest, SignedAt: at, Method: method}
		f.act(t, at, "aup.sign", "account:"+a.Username, nil, map[string]any{"document_id": doc.ID, "audience": doc.Audience,
			"version": doc.Version, "digest": doc.Digest, "method": method},
			func(ctx context.Context, tx directory.Tx) error { return tx.AddSignature(ctx, &sig) })
	}
	sign(day(2025, 9, 3), alice, docs["pupil"], directory.SignPortal)
	sign(day(2025, 9, 4), bob, docs["pupil"], directory.SignPaper)
	consentAt := day(2025, 9, 2)
	c := directory.Consent{AccountID: alice.ID, ParentName: "Ann Adams", Relationship: "mother", GivenAt: consentAt, Method: directory.SignPaper}
	f.act(t, day(2025, 9, 3), "consent.add", "account:"+alice.Username, nil,
		map[string]any{"parent_name": c.ParentName, "relationship": c.Relationship, "given_at": c.GivenAt, "method": c.Method},
		func(ctx context.Context, tx directory.Tx) error { return tx.AddConsent(ctx, &c) })
	f.now = day(2025, 9, 10)
	if _, err := f.d.IssueWiFi(ctx, "user:25aadams", alice); err != nil {
		t.Fatal(err)
	}
	suspend := func(at, until time.Time, a directory.Account, ref string) directory.Suspension {
		sp := directory.Suspension{AccountID: a.ID, From: at, Until: until, Reason: "misuse", IncidentRef: ref, CreatedAt: at}
		f.act(t, at, "suspension.add", "account:"+a.Username, nil,
			map[string]any{"from": at, "until": until, "reason": sp.Reason, "incident_ref": ref},
			func(ctx context.Context, tx directory.Tx) error { return tx.AddSuspension(ctx, &sp) })
		return sp
	}
	suspend(day(2025, 11, 5), day(2025, 11, 12), alice, "INC-7")
	bs := suspend(day(2026, 1, 10), time.Time{}, bob, "INC-9")
	f.act(t, day(2026, 1, 15), "suspension.lift", "account:"+bob.Username, map[string]any{"suspension_id": bs.ID},
		map[string]any{"suspension_id": bs.ID, "lifted_at": day(2026, 1, 15)},
		func(ctx context.Context, tx directory.Tx) error {
			_, err := tx.UpdateSuspension(ctx, bs.ID, func(x *directory.Suspension) error { x.LiftedAt = day(2026, 1, 15); return nil })
			return err
		})
	suspend(day(2026, 3, 1), day(2026, 3, 8), alice, "INC-12")
	bob = update(day(2026, 7, 20), bob, "account.disable", func(a *directory.Account) {
		a.Status, a.DisabledAt, a.LeaveDate = directory.StatusDisabled, day(2026, 7, 20), time.Date(2026, 7, 17, 0, 0, 0, 0, time.UTC)
	})
	alice = update(day(2026, 9, 1), alice, "account.update", func(a *directory.Account) { a.YearGroup, a.RegGroup = "8", "8A" })
	add(day(2026, 9, 2), directory.Account{Username: "26ddavis", Role: directory.RolePupil, Source: directory.SourceMIS,
		MISID: "P300", GivenName: "Dan", FamilyName: "Davis", YearGroup: "7", RegGroup: "7B"})
	guest := directory.Account{Username: "guest-eve", Role: directory.RoleGuest, GivenName: "Eve", FamilyName: "Evans"}
	f.now = day(2026, 9, 20)
	if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.CreateAccount(ctx, &guest); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &directory.Credential{AccountID: guest.ID, Kind: directory.CredWiFi, Secret: "sealed", CreatedAt: f.now}); err != nil {
			return err
		}
		return f.d.Record(ctx, tx, "user:cclark", audit.ActionGuestCreate, "account:"+guest.Username, nil,
			map[string]any{"account": guest.Snapshot(), "sponsor": "cclark", "purpose": "governors' meeting"})
	}); err != nil {
		t.Fatal(err)
	}
	add(day(2026, 9, 20), directory.Account{Username: "nslcd", Role: directory.RoleService})
	f.act(t, day(2026, 10, 1), audit.ActionAccountPurge, "account:"+bob.Username, bob.Snapshot(), nil,
		func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, bob.ID) })
	// Changes after the last date below must not show in it.
	alice = update(day(2026, 12, 1), alice, "account.update", func(a *directory.Account) { a.RegGroup = "8Z" })

	if r := f.register(t, day(2025, 8, 27)); len(r) != 0 {
		t.Errorf("before anyone started: %v", r)
	}

	r := f.register(t, day(2025, 9, 5))
	if len(r) != 3 {
		t.Fatalf("2025-09-05: %d rows", len(r))
	}
	a := r["25aadams"]
	if a.YearGroup != "7" || a.RegGroup != "7A" || a.MISID != "P100" || a.Name != "Alice Adams" || a.State != "active" ||
		a.AUPAudience != "pupil" || a.AUPVersion != "2025.1" || !a.AUPSigned.Equal(day(2025, 9, 3)) || a.AUPMethod != "portal" ||
		!a.ConsentGiven.Equal(consentAt) || !a.WiFiIssued.IsZero() || !a.AccessGranted.Equal(start) {
		t.Errorf("alice on 2025-09-05: %+v", a)
	}
	if b := r["21bbrown"]; b.AUPMethod != "paper" || !b.ConsentGiven.IsZero() {
		t.Errorf("bob on 2025-09-05: %+v", b)
	}
	if c := r["cclark"]; c.Name != "Mrs Clark" || c.Role != "staff" || c.AUPAudience != "staff" || c.AUPVersion != "" {
		t.Errorf("carol: %+v", c)
	}

	r = f.register(t, day(2025, 11, 8))
	if a := r["25aadams"]; !a.SuspendedFrom.Equal(day(2025, 11, 5)) || !a.SuspendedUntil.Equal(day(2025, 11, 12)) ||
		a.SuspensionRef != "INC-7" || !a.WiFiIssued.Equal(day(2025, 9, 10)) {
		t.Errorf("alice on 2025-11-08: %+v", a)
	}
	if a := f.register(t, day(2025, 11, 13))["25aadams"]; !a.SuspendedFrom.IsZero() {
		t.Errorf("alice's suspension outlived its end: %+v", a)
	}
	if a := f.register(t, day(2026, 3, 3))["25aadams"]; a.SuspensionRef != "INC-12" {
		t.Errorf("alice's second suspension on 2026-03-03: %+v", a)
	}
	if a := f.register(t, day(2026, 3, 9))["25aadams"]; !a.SuspendedFrom.IsZero() {
		t.Errorf("alice on 2026-03-09: %+v", a)
	}
	if b := f.register(t, day(2026, 1, 12))["21bbrown"]; !b.SuspendedFrom.Equal(day(2026, 1, 10)) || !b.SuspendedUntil.IsZero() {
		t.Errorf("bob on 2026-01-12: %+v", b)
	}
	if b := f.register(t, day(2026, 1, 20))["21bbrown"]; !b.SuspendedFrom.IsZero() {
		t.Errorf("bob's lifted suspension still shows: %+v", b)
	}

	r = f.register(t, day(2026, 8, 1))
	if b := r["21bbrown"]; b.State != "disabled" || !b.Disabled.Equal(day(2026, 7, 20)) || directory.FormatDate(b.LeaveDate) != "2026-07-17" {
		t.Errorf("bob on 2026-08-01: %+v", b)
	}
	if a := r["25aadams"]; a.YearGroup != "7" {
		t.Errorf("alice moved up before the sync did it: %+v", a)
	}
	if _, ok := r["26ddavis"]; ok {
		t.Error("dan is in the register before he started")
	}

	r = f.register(t, day(2026, 9, 15))
	if a := r["25aadams"]; a.YearGroup != "8" || a.RegGroup != "8A" {
		t.Errorf("alice on 2026-09-15: %+v", a)
	}
	if _, ok := r["26ddavis"]; !ok || r["21bbrown"].State != "disabled" || !r["21bbrown"].Purged.IsZero() {
		t.Errorf("2026-09-15: %+v", r)
	}
	if g, ok := f.register(t, day(2026, 9, 21))["guest-eve"]; !ok || g.Role != "guest" || !g.WiFiIssued.Equal(day(2026, 9, 20)) || g.AUPAudience != "community" {
		t.Errorf("the guest on 2026-09-21: %+v", g)
	}

	r = f.register(t, day(2026, 11, 1))
	if b := r["21bbrown"]; b.State != "purged" || !b.Purged.Equal(day(2026, 10, 1)) || b.MISID != "P200" {
		t.Errorf("bob after his purge: %+v", b)
	}
	if a := r["25aadams"]; a.RegGroup != "8A" {
		t.Errorf("a later change shows in an earlier register: %+v", a)
	}

	// The register now, read from the store, agrees with the rebuild of
	// today where both hold the same facts, and no longer lists bob.
	f.now = day(2026, 12, 2)
	now := f.register(t, time.Time{})
	past := f.register(t, f.now)
	if _, ok := now["21bbrown"]; ok {
		t.Error("a purged person is in the current register")
	}
	if _, ok := now["nslcd"]; ok || past["nslcd"].Username != "" {
		t.Error("a service account is in the register")
	}
	for _, name := range []string{"25aadams", "cclark", "26ddavis", "guest-eve"} {
		n, p := now[name], past[name]
		if n.Name != p.Name || n.YearGroup != p.YearGroup || n.RegGroup != p.RegGroup || n.State != p.State ||
			n.AUPVersion != p.AUPVersion || !n.AUPSigned.Equal(p.AUPSigned) || n.AUPMethod != p.AUPMethod ||
			!n.ConsentGiven.Equal(p.ConsentGiven) || !n.WiFiIssued.Equal(p.WiFiIssued) || n.MISID != p.MISID {
			t.Errorf("%s: current %+v\n rebuilt %+v", name, n, p)
		}
	}
}

func TestPersonRecord(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.account(t, directory.Account{Username: "26zoe", Role: directory.RolePupil, GivenName: "Zoë", YearGroup: "7"}, "Lantern-Otter-93")
	f.now = day(2026, 10, 6)
	secret, err := f.d.IssueWiFi(ctx, "cli", a)
	if err != nil {
		t.Fatal(err)
	}
	f.act(t, day(2026, 10, 7), "suspension.add", "account:26zoe", nil, map[string]any{"reason": "test"},
		func(ctx context.Context, tx directory.Tx) error {
			return tx.AddSuspension(ctx, &directory.Suspension{AccountID: a.ID, From: day(2026, 10, 7), Reason: "test"})
		})
	var buf strings.Builder
	if err := f.d.PersonRecord(ctx, "26zoe", time.UTC, &buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Username    string           `json:"username"`
		Register    map[string]any   `json:"register"`
		Account     map[string]any   `json:"account"`
		Credentials []map[string]any `json:"credentials"`
		Suspensions []map[string]any `json:"suspensions"`
		AuditEvents []map[string]any `json:"audit_events"`
	}
	if err := json.Unmarshal([]byte(buf.String()), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if got.Account["given_name"] != "Zoë" || len(got.Credentials) != 2 || len(got.Suspensions) != 1 || len(got.AuditEvents) != 3 {
		t.Errorf("record: %+v", got)
	}
	if strings.Contains(buf.String(), secret) || strings.Contains(buf.String(), "$argon2id") || strings.Contains(buf.String(), "Secret") {
		t.Error("the record holds a secret")
	}
	// One schema with the register export: snake_case keys, dates in the
	// school's form, blank when unset.
	for _, bad := range []string{`"MISID"`, `"GivenName"`, `"CreatedAt"`, "0001-01-01", `"ID"`} {
		if strings.Contains(buf.String(), bad) {
			t.Errorf("the record has %s, not the register's schema:\n%s", bad, buf.String())
		}
	}
	if got.Account["mis_id"] != "" || got.Account["leave_date"] != "" || got.Suspensions[0]["until"] != "" ||
		got.Suspensions[0]["from"] != day(2026, 10, 7).UTC().Format("2006-01-02 15:04") || got.Credentials[0]["created_at"] == "" {
		t.Errorf("dates and blanks: account %v suspension %v", got.Account, got.Suspensions[0])
	}
	var reg strings.Builder
	rw, _ := audit.NewRegisterWriter(&reg, audit.FormatJSON, time.UTC)
	if err := f.d.Register(ctx, time.Time{}, func(r audit.RegisterRow) error {
		if r.Username == "26zoe" {
			return rw.Write(r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	var rows []map[string]any
	if err := json.Unmarshal([]byte(reg.String()), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("register: %v %s", err, reg.String())
	}
	if !reflect.DeepEqual(rows[0], got.Register) {
		t.Errorf("the record's register row is not the register export's:\n%v\n%v", got.Register, rows[0])
	}

	// Purged: the trail still answers.
	f.act(t, day(2026, 11, 1), audit.ActionAccountPurge, "account:26zoe", a.Snapshot(), nil,
		func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, a.ID) })
	buf.Reset()
	if err := f.d.PersonRecord(ctx, "26zoe", time.UTC, &buf); err != nil {
		t.Fatal(err)
	}
	got.AuditEvents = nil
	if err := json.Unmarshal([]byte(buf.String()), &got); err != nil || len(got.AuditEvents) != 4 || !strings.Contains(buf.String(), "purged") {
		t.Errorf("purged record: %v\n%s", err, buf.String())
	}
	if err := f.d.PersonRecord(ctx, "nobody", time.UTC, &buf); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("nobody: %v", err)
	}
}

func TestExportEventsBetween(t *testing.T) {
	f := newFixture(t)
	times := []time.Time{day(2026, 1, 1), day(2026, 1, 2), day(2026, 1, 3),
		day(2026, 1, 2).Add(30 * time.Minute), // from a node whose clock is behind
		day(2026, 1, 4), day(2026, 1, 5)}
	for _, at := range times {
		f.act(t, at, "test.note", "test", nil, map[string]string{"at": at.String()}, nil)
	}
	var buf strings.Builder
	n, err := directory.ExportEvents(context.Background(), f.s, &buf, day(2026, 1, 2), day(2026, 1, 3).Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		e, err := audit.ReadEvent([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, e.Seq)
	}
	if n != 3 || len(seqs) != 3 || seqs[0] != 2 || seqs[1] != 3 || seqs[2] != 4 {
		t.Errorf("exported %d: %v", n, seqs)
	}
}

// TestRegisterAccessNow: the register says whether each person can sign
// in at its date, as the gate decides it.
func TestRegisterAccessNow(t *testing.T) {
	f := newFixture(t)
	f.account(t, directory.Account{Username: "cclark", Role: directory.RoleStaff, GivenName: "Chloë"}, "Lantern-Otter-93")
	b := f.account(t, directory.Account{Username: "26lan", Role: directory.RolePupil, GivenName: "Thị Lan", YearGroup: "7"}, "Lantern-Otter-94")
	f.act(t, day(2026, 10, 7), "suspension.add", "account:26lan", nil, map[string]any{"reason": "test"},
		func(ctx context.Context, tx directory.Tx) error {
			return tx.AddSuspension(ctx, &directory.Suspension{AccountID: b.ID, From: day(2026, 10, 7), Reason: "test"})
		})
	f.now = day(2026, 10, 8)
	now := f.register(t, time.Time{})
	if now["cclark"].Access != "yes" || now["26lan"].Access != "no" {
		t.Errorf("access now: cclark %q, 26lan (suspended) %q", now["cclark"].Access, now["26lan"].Access)
	}
	if past := f.register(t, day(2026, 10, 6)); past["cclark"].Access != "" {
		t.Errorf("a register as of a past date cannot know access: %q", past["cclark"].Access)
	}
}
