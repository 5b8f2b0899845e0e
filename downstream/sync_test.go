package downstream_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/downstream"
	"keystage.dev/keystage/passwords"
)

// fakeTarget records the passwords it is given and fails as told.
type fakeTarget struct {
	set   map[string]string
	must  map[string]bool
	there map[string]bool
	fail  error
	plan  *downstream.Plan
}

func (f *fakeTarget) Name() string { return "ad" }
func (f *fakeTarget) Close() error { return nil }
func (f *fakeTarget) Plan(ctx context.Context, w downstream.Want, adopt bool) (*downstream.Plan, error) {
	p := *f.plan
	return &p, nil
}
func (f *fakeTarget) SetPassword(ctx context.Context, e downstream.Entry, pw string, must bool) error {
	if !f.there[e.Username] {
		return downstream.ErrNotThere
	}
	if f.fail != nil {
		return f.fail
	}
	f.set[e.Username], f.must[e.Username] = pw, must
	return nil
}

func newDir(t *testing.T, downstreams []string) (*directory.Directory, directory.Store) {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	keys, err := passwords.GenerateKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := passwords.ParseKeyFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	h := &passwords.Hasher{Params: passwords.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}
	return directory.New(s, directory.Config{Hasher: h, Sealer: ring, PasswordDownstreams: downstreams}), s
}

func staff(t *testing.T, d *directory.Directory, name string) directory.Account {
	t.Helper()
	a := directory.Account{Username: name, Role: directory.RoleStaff, Source: directory.SourceManual, GivenName: "Jo", FamilyName: "Teacher"}
	if err := d.CreateAccount(context.Background(), "test", &a, nil); err != nil {
		t.Fatal(err)
	}
	return a
}

// A password set in Keystage waits sealed, bound to its account (it opens
// for no other), until it is pushed; one for a person not there yet
// waits; one the directory refuses is counted and tried again; a newer
// password replaces an older one still waiting; without a downstream
// nothing waits.
func TestPasswordsWaitSealedUntilPushed(t *testing.T) {
	ctx := context.Background()
	d, s := newDir(t, []string{"ad"})
	a, b := staff(t, d, "jteacher"), staff(t, d, "bteacher")
	if err := d.SetPassword(ctx, "test", a, "Older-Pass-Word-1"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, "test", a, "Blue-Kiwi-Orbit-42"); err != nil {
		t.Fatal(err)
	}
	fp, err := d.IssueFirstPassword(ctx, "test", b, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := s.PendingPasswords(ctx, "ad", 0)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
	for _, p := range pending {
		if strings.Contains(p.Sealed, "Blue-Kiwi") || strings.Contains(p.Sealed, fp.Password) {
			t.Fatalf("a pending password is stored in clear: %+v", p)
		}
		other := a.ID
		if p.AccountID == a.ID {
			other = b.ID
		}
		if _, err := d.Sealer().Open(p.Sealed, directory.PendingPasswordAD("ad", other)); err == nil {
			t.Fatal("a pending password opens for another account")
		}
	}

	f := &fakeTarget{set: map[string]string{}, must: map[string]bool{}, there: map[string]bool{"jteacher": true}, fail: errors.New("constraint violation: password history")}
	sy := downstream.NewSync(d, downstream.Config{Name: "ad", Open: func(context.Context) (downstream.Target, error) { return f, nil }}, nil)
	res, err := sy.Push(ctx, "test")
	if err != nil || res.Failed != 1 || res.Waiting != 1 || res.Pushed != 0 {
		t.Fatalf("push while the directory refuses: %+v %v", res, err)
	}
	pending, _ = s.PendingPasswords(ctx, "ad", 0)
	if len(pending) != 2 || pending[0].Attempts+pending[1].Attempts != 1 {
		t.Fatalf("after a refusal: %+v", pending)
	}
	f.fail = nil
	f.there["bteacher"] = true
	res, err = sy.Push(ctx, "test")
	if err != nil || res.Pushed != 2 {
		t.Fatalf("push: %+v %v", res, err)
	}
	if f.set["jteacher"] != "Blue-Kiwi-Orbit-42" || f.must["jteacher"] || f.set["bteacher"] != fp.Password || !f.must["bteacher"] {
		t.Fatalf("pushed %v must-change %v", f.set, f.must)
	}
	if pending, _ := s.PendingPasswords(ctx, "ad", 0); len(pending) != 0 {
		t.Fatalf("still waiting after the push: %+v", pending)
	}
	events, err := s.AuditEventsByAction(ctx, "ad.password", time.Time{}, 10)
	if err != nil || len(events) != 2 {
		t.Fatalf("ad.password events: %d, %v", len(events), err)
	}
	failed, _ := s.AuditEventsByAction(ctx, "ad.password_failed", time.Time{}, 10)
	if len(failed) != 1 || !strings.Contains(string(failed[0].After), "password history") {
		t.Fatalf("ad.password_failed events: %+v", failed)
	}

	plain, s2 := newDir(t, nil)
	c := staff(t, plain, "cteacher")
	if err := plain.SetPassword(ctx, "test", c, "Blue-Kiwi-Orbit-42"); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s2.PendingPasswords(ctx, "ad", 0); len(pending) != 0 {
		t.Fatalf("a password waits with no downstream directory: %+v", pending)
	}
}

// Without the key file, a directory that must queue passwords refuses to
// set one rather than set it in Keystage alone.
func TestPasswordNeedsSealer(t *testing.T) {
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := &passwords.Hasher{Params: passwords.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}
	d := directory.New(s, directory.Config{Hasher: h, PasswordDownstreams: []string{"ad"}})
	a := staff(t, d, "jteacher")
	if err := d.SetPassword(context.Background(), "test", a, "Blue-Kiwi-Orbit-42"); !errors.Is(err, directory.ErrNoSealer) {
		t.Fatalf("set password without a sealer: %v", err)
	}
	if ok, _ := d.HasPassword(context.Background(), a); ok {
		t.Fatal("the password was set in Keystage alone")
	}
}

// The breakers refuse a plan that disables or deletes more than the share
// allowed of what Keystage owns downstream, and Apply refuses it unless
// allowed.
func TestBreakers(t *testing.T) {
	ctx := context.Background()
	d, _ := newDir(t, nil)
	applied := 0
	change := func(kind downstream.Kind, name string) downstream.Change {
		return downstream.Change{Kind: kind, Name: name, Apply: func(context.Context) error { applied++; return nil }}
	}
	f := &fakeTarget{plan: &downstream.Plan{Managed: 100, Changes: []downstream.Change{
		change(downstream.KindDisable, "a"), change(downstream.KindDisable, "b"), change(downstream.KindDisable, "c"),
		change(downstream.KindDisable, "d"), change(downstream.KindDisable, "e"), change(downstream.KindDisable, "f"),
		change(downstream.KindCreate, "g"),
	}}}
	sy := downstream.NewSync(d, downstream.Config{Name: "ad", Open: func(context.Context) (downstream.Target, error) { return f, nil }}, nil)
	p, tg, err := sy.Plan(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Blocked, "disable 6 of the 100") {
		t.Fatalf("blocked = %q", p.Blocked)
	}
	if _, err := sy.Apply(ctx, tg, p, "test"); !errors.Is(err, downstream.ErrMassChange) || applied != 0 {
		t.Fatalf("apply of a blocked plan: %v, %d applied", err, applied)
	}
	if err := sy.RunOnce(ctx, "schedule"); !errors.Is(err, downstream.ErrMassChange) || applied != 0 {
		t.Fatalf("scheduled run of a blocked plan: %v, %d applied", err, applied)
	}
	p.AllowMassChange = true
	res, err := sy.Apply(ctx, tg, p, "test")
	if err != nil || res.Applied != 7 || applied != 7 {
		t.Fatalf("allowed: %+v %v", res, err)
	}
	f.plan.Changes = f.plan.Changes[:5]
	if p, _, _ := sy.Plan(ctx, false); p.Blocked != "" {
		t.Fatalf("5 of 100 is within 5%%: %q", p.Blocked)
	}
}

// The gate for Windows logins: the account's life and the suspensions
// that disable Windows logins, not the AUP.
func TestWindowsLogin(t *testing.T) {
	now := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	var p directory.GatePolicy
	a := directory.Account{Username: "x", Role: directory.RolePupil, Status: directory.StatusActive, YearGroup: "7"}
	if ok, why := downstream.WindowsLogin(p, a, nil, now); !ok {
		t.Errorf("active pupil with no AUP signed: %s", why)
	}
	sus := []directory.Suspension{{From: now.Add(-time.Hour), Until: now.Add(time.Hour)}}
	if ok, why := downstream.WindowsLogin(p, a, sus, now); ok || why != directory.ReasonSuspended {
		t.Errorf("suspended: %v %s", ok, why)
	}
	if ok, _ := downstream.WindowsLogin(p, a, sus, now.Add(2*time.Hour)); !ok {
		t.Error("after the suspension ended")
	}
	for _, c := range []struct {
		scope    directory.SuspensionScope
		disables bool
	}{
		{directory.SuspendAll, true},
		{directory.SuspendService(directory.ServiceLDAP), true},
		{directory.SuspendInternet, false},
		{directory.SuspendService(directory.ServiceWiFi), false},
		{directory.SuspendService(directory.ServicePortal), false},
	} {
		scoped := []directory.Suspension{{From: now.Add(-time.Hour), Until: now.Add(time.Hour), Scope: c.scope}}
		if ok, _ := downstream.WindowsLogin(p, a, scoped, now); ok == c.disables {
			t.Errorf("suspension of scope %q: Windows login allowed %v, want %v", c.scope, ok, !c.disables)
		}
	}
	left := a
	left.LeaveDate = now.AddDate(0, 0, -1)
	if ok, why := downstream.WindowsLogin(p, left, nil, now); ok || why != directory.ReasonLeft {
		t.Errorf("leaver: %v %s", ok, why)
	}
	off := a
	off.Status = directory.StatusDisabled
	if ok, why := downstream.WindowsLogin(p, off, nil, now); ok || why != directory.ReasonDisabled {
		t.Errorf("disabled: %v %s", ok, why)
	}
}

// countingTarget counts plans; its plans disable one person.
type countingTarget struct {
	fakeTarget
	plans chan struct{}
}

func (c *countingTarget) Plan(ctx context.Context, w downstream.Want, adopt bool) (*downstream.Plan, error) {
	c.plans <- struct{}{}
	return &downstream.Plan{Managed: 1}, nil
}

// With a schedule, a change to an account (here a disable) sets off a run
// without waiting for the interval.
func TestChangeSetsOffARun(t *testing.T) {
	d, _ := newDir(t, nil)
	staff(t, d, "jteacher")
	ct := &countingTarget{plans: make(chan struct{}, 10)}
	sy := downstream.NewSync(d, downstream.Config{Name: "ad", Every: time.Hour,
		Open: func(context.Context) (downstream.Target, error) { return ct, nil }}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sy.RunSchedule(ctx) }()
	defer func() { cancel(); <-done }()
	// The watch is in place once RunSchedule has started it; changes go on
	// being made until one sets off a run, so the test does not depend on
	// when that is.
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	for i := 0; ; i++ {
		select {
		case <-ct.plans:
			return
		case <-tick.C:
			if _, _, err := d.Disable(context.Background(), "test", "jteacher", fmt.Sprint("reason ", i)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := d.Enable(context.Background(), "test", "jteacher", "back", false); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("a change to an account set off no run")
		}
	}
}

// A suspension that ends has no event: the run that saw it sets a timer
// for its end, and a run follows then.
func TestSuspensionEndSetsOffARun(t *testing.T) {
	d, _ := newDir(t, nil)
	a := staff(t, d, "jteacher")
	if _, err := d.Suspend(context.Background(), "test", a, directory.Suspension{Reason: "test", Until: time.Now().Add(8 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	ct := &countingTarget{plans: make(chan struct{}, 10)}
	sy := downstream.NewSync(d, downstream.Config{Name: "ad", Every: time.Hour,
		Open: func(context.Context) (downstream.Target, error) { return ct, nil }}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sy.RunSchedule(ctx) }()
	defer func() { cancel(); <-done }()
	// The first run follows the start; the second, the suspension's end
	// (no change is made in Keystage meanwhile).
	for i := 0; i < 2; i++ {
		select {
		case <-ct.plans:
		case <-time.After(60 * time.Second):
			t.Fatalf("run %d did not come", i+1)
		}
	}
}

// What a downstream directory should hold names each person's school, so
// that a trust's domain can put each school's people in their own OUs.
func TestWantNamesTheSchool(t *testing.T) {
	_, s := newDir(t, nil)
	d := directory.New(s, directory.Config{Schools: []directory.School{{ID: "north", Name: "Northgate"}}})
	ctx := context.Background()
	for name, school := range map[string]string{"nteacher": "north", "central": ""} {
		a := directory.Account{Username: name, Role: directory.RoleStaff, Source: directory.SourceManual, GivenName: "Jo", FamilyName: "Teacher", School: school}
		if err := d.CreateAccount(ctx, "test", &a, nil); err != nil {
			t.Fatal(err)
		}
	}
	sy := downstream.NewSync(d, downstream.Config{Name: "ad", MassChange: 1}, nil)
	w, err := sy.Want(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range w.Entries {
		got[e.Username] = e.School
	}
	if got["nteacher"] != "north" || got["central"] != "" || len(got) != 2 {
		t.Errorf("schools wanted: %v", got)
	}
}
