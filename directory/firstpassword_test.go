package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

func lastEventAbout(t *testing.T, s directory.Store, target string) (action, actor string) {
	t.Helper()
	evs, err := s.AuditEventsAbout(context.Background(), target, 0, 1000)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events about %s: %v (%d)", target, err, len(evs))
	}
	e := evs[len(evs)-1]
	return string(e.Action), e.Actor
}

func TestIssueFirstPassword(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("jbloggs"), "Kestrel-Harbour-47")

	fp, err := f.d.IssueFirstPassword(ctx, "cli:tech", a, 3*24*time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if !fp.Account.MustChangePassword || strings.ContainsAny(fp.Password, "IO01") {
		t.Fatalf("first password %+v", fp)
	}
	if act, who := lastEventAbout(t, f.s, "account:jbloggs"); act != "password.issue" || who != "cli:tech" {
		t.Errorf("trail: %s by %s", act, who)
	}
	evs, _ := f.s.AuditEventsAbout(ctx, "account:jbloggs", 0, 1000)
	for _, e := range evs {
		if strings.Contains(string(e.After), fp.Password) {
			t.Fatal("the first password is in the trail")
		}
	}
	// The old password has gone.
	if _, err := f.d.Authenticate(ctx, "jbloggs", "Kestrel-Harbour-47", directory.ServicePortal, directory.Origin{}); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("old password after issue: %v", err)
	}
	// LDAP is refused until the password is changed; the portal is open.
	var refused *directory.RefusedError
	if _, err := f.d.Authenticate(ctx, "jbloggs", fp.Password, directory.ServiceLDAP, directory.Origin{}); !errors.As(err, &refused) || refused.Decision.Reason != directory.ReasonMustChange {
		t.Fatalf("ldap with a first password: %v", err)
	}
	got, err := f.d.Authenticate(ctx, "jbloggs", fp.Password, directory.ServicePortal, directory.Origin{})
	if err != nil || !got.MustChangePassword {
		t.Fatalf("portal with a first password: %v %+v", err, got)
	}
	if vs, err := f.d.ChangePassword(ctx, "portal:jbloggs", got, "Walrus-Teapot-Violin-58"); err != nil || len(vs) > 0 {
		t.Fatalf("change: %v %v", err, vs)
	}
	if a, err := f.d.Authenticate(ctx, "jbloggs", "Walrus-Teapot-Violin-58", directory.ServiceLDAP, directory.Origin{}); err != nil || a.MustChangePassword {
		t.Fatalf("ldap after the change: %v %+v", err, a)
	}
}

// An unused first password ends after its days.
func TestFirstPasswordExpires(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("jbloggs"), "")
	fp, err := f.d.IssueFirstPassword(ctx, "cli:tech", a, 2*24*time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	if act, _ := lastEventAbout(t, f.s, "account:jbloggs"); act != "password.reset" {
		t.Errorf("trail: %s", act)
	}
	f.now = f.now.Add(47 * time.Hour)
	if _, err := f.d.Authenticate(ctx, "jbloggs", fp.Password, directory.ServicePortal, directory.Origin{}); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	f.now = f.now.Add(2 * time.Hour)
	if _, err := f.d.Authenticate(ctx, "jbloggs", fp.Password, directory.ServicePortal, directory.Origin{}); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("after expiry: %v", err)
	}
	if has, err := f.d.HasPassword(ctx, a); err != nil || has {
		t.Errorf("HasPassword after expiry = %v, %v", has, err)
	}
}

func TestUnlock(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("jbloggs"), "Kestrel-Harbour-47")
	src := directory.Origin{ID: "ldap:192.0.2.1"}
	for i := range 30 {
		f.d.Authenticate(ctx, "jbloggs", "wrong-"+string(rune('a'+i)), directory.ServiceLDAP, src)
	}
	var refused *directory.RefusedError
	if _, err := f.d.Authenticate(ctx, "jbloggs", "Kestrel-Harbour-47", directory.ServiceLDAP, src); !errors.As(err, &refused) {
		t.Fatalf("not locked after 30 failures: %v", err)
	}
	if err := f.d.Unlock(ctx, "cli:tech", a); err != nil {
		t.Fatal(err)
	}
	if act, who := lastEventAbout(t, f.s, "account:jbloggs"); act != "account.unlock" || who != "cli:tech" {
		t.Errorf("trail: %s by %s", act, who)
	}
	if _, err := f.d.Authenticate(ctx, "jbloggs", "Kestrel-Harbour-47", directory.ServiceLDAP, src); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestEnable(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	left := staff("leaver")
	left.Source, left.MISID, left.LeaveDate = directory.SourceMIS, "M1", f.now.AddDate(0, 0, -3)
	f.account(t, left, "")
	f.account(t, staff("byhand"), "")
	for _, n := range []string{"leaver", "byhand"} {
		if _, _, err := f.d.Disable(ctx, "test", n, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.d.Enable(ctx, "cli:tech", "leaver", "back", false); !errors.Is(err, directory.ErrStillLeaver) {
		t.Fatalf("enable a leaver: %v", err)
	}
	if a := mustGet(t, f.s, "leaver"); a.Status != directory.StatusDisabled {
		t.Fatal("refused enable changed the account")
	}
	a, _, err := f.d.Enable(ctx, "cli:tech", "leaver", "staying on", true)
	if err != nil || a.Status != directory.StatusActive || !a.LeaveDate.IsZero() {
		t.Fatalf("forced enable: %v %+v", err, a)
	}
	a, already, err := f.d.Enable(ctx, "cli:tech", "byhand", "mistake", false)
	if err != nil || already || a.Status != directory.StatusActive {
		t.Fatalf("enable: %v %v %+v", err, already, a)
	}
	if act, who := lastEventAbout(t, f.s, "account:byhand"); act != "account.enable" || who != "cli:tech" {
		t.Errorf("trail: %s by %s", act, who)
	}
	if _, already, _ := f.d.Enable(ctx, "cli:tech", "byhand", "again", false); !already {
		t.Error("enable of an active account is not 'already'")
	}
}

// A pupil without parental consent and a disabled account are skipped,
// with the reason.
func TestIssueFirstPasswordsSkips(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	pupil := f.account(t, directory.Account{Username: "apupil", Role: directory.RolePupil, YearGroup: "7", GivenName: "A", FamilyName: "Pupil"}, "")
	f.account(t, staff("gone"), "")
	if _, _, err := f.d.Disable(ctx, "test", "gone", "left"); err != nil {
		t.Fatal(err)
	}
	gone := mustGet(t, f.s, "gone")
	ok := f.account(t, staff("jbloggs"), "")
	issued, skipped, err := f.d.IssueFirstPasswords(ctx, "cli:tech", []directory.Account{pupil, gone, ok}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(issued) != 1 || issued[0].Account.Username != "jbloggs" || !issued[0].ExpiresAt.Equal(f.now.Add(directory.DefaultFirstPasswordDays*24*time.Hour)) {
		t.Fatalf("issued %+v", issued)
	}
	if len(skipped) != 2 || !strings.Contains(skipped[0].Reason, "parental consent") || !strings.Contains(skipped[1].Reason, "disabled") {
		t.Fatalf("skipped %+v", skipped)
	}
	if has, _ := f.d.HasPassword(ctx, pupil); has {
		t.Error("a pupil without consent was given a password")
	}
}
