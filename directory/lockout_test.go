package directory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

const goodPassword = "Kestrel-Harbour-47"

func ldapFrom(addr string) directory.Origin { return directory.Origin{ID: "ldap:" + addr} }

func refusal(err error) directory.Reason {
	var r *directory.RefusedError
	if errors.As(err, &r) {
		return r.Decision.Reason
	}
	return ""
}

// TestLockoutGuessingSparesFamiliarSources: one source's 100 wrong
// passwords and 100 more from a new source each do not stop the teacher
// signing in from where they always do; the guessers are refused.
func TestLockoutGuessingSparesFamiliarSources(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, staff("teacher"), goodPassword)
	home := ldapFrom("10.1.1.5")
	if _, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home); err != nil {
		t.Fatal(err)
	}
	pupil := ldapFrom("10.9.9.9")
	for i := range 100 {
		f.now = f.now.Add(time.Second)
		f.d.Authenticate(ctx, "teacher", fmt.Sprintf("guess-%d", i), directory.ServiceLDAP, pupil)
	}
	if _, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, pupil); refusal(err) == "" {
		t.Errorf("the guessing source with the right password: %v, want refused", err)
	}
	for i := range 100 {
		f.now = f.now.Add(time.Second)
		f.d.Authenticate(ctx, "teacher", fmt.Sprintf("guess-%d", i), directory.ServiceWiFi,
			directory.Origin{ID: fmt.Sprintf("radius:02-00-00-00-%02x-%02x@ap", i/256, i%256)})
	}
	if _, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, directory.Origin{ID: "radius:new@ap"}); refusal(err) != directory.ReasonNewDevicesLocked {
		t.Errorf("a new source after cycling: %v, want %s", err, directory.ReasonNewDevicesLocked)
	}
	if a, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home); err != nil || a.Username != "teacher" {
		t.Fatalf("the teacher from their familiar source: %v", err)
	}
}

// TestLockoutLockedAnswerIgnoresPassword: while locked, the right password
// gets exactly the wrong one's answer.
func TestLockoutLockedAnswerIgnoresPassword(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, staff("teacher"), goodPassword)
	src := ldapFrom("10.9.9.9")
	for i := range 5 {
		f.d.Authenticate(ctx, "teacher", fmt.Sprintf("guess-%d", i), directory.ServiceLDAP, src)
	}
	_, right := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, src)
	_, wrong := f.d.Authenticate(ctx, "teacher", "guess-99", directory.ServiceLDAP, src)
	if right == nil || wrong == nil || right.Error() != wrong.Error() || refusal(right) != refusal(wrong) {
		t.Fatalf("locked: right password %v, wrong password %v: want the same refusal", right, wrong)
	}
}

// TestLockoutSamePasswordCountsOnce: a phone retrying a stale password
// does not lock its owner out.
func TestLockoutSamePasswordCountsOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, staff("teacher"), goodPassword)
	phone := ldapFrom("10.1.1.7")
	if _, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, phone); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		f.now = f.now.Add(time.Second)
		if _, err := f.d.Authenticate(ctx, "teacher", "Old-Password-2025", directory.ServiceLDAP, phone); !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatalf("stale password: %v", err)
		}
	}
	if _, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, phone); err != nil {
		t.Fatalf("after a stale password 50 times: %v", err)
	}
}

// TestLockoutTrustedAddress: a service account binding from its
// configured address keeps working while people guess from it.
func TestLockoutTrustedAddress(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, directory.Account{Username: "svc-moodle", Role: directory.RoleService}, goodPassword)
	f.account(t, staff("teacher"), goodPassword)
	moodle := directory.Origin{ID: "ldap:10.0.5.20", Trusted: true}
	for i := range 50 {
		f.d.Authenticate(ctx, "teacher", fmt.Sprintf("guess-%d", i), directory.ServiceLDAP, moodle)
		f.d.Authenticate(ctx, fmt.Sprintf("nobody%d", i), "x", directory.ServiceLDAP, moodle)
	}
	if _, err := f.d.Authenticate(ctx, "svc-moodle", goodPassword, directory.ServiceLDAP, moodle); err != nil {
		t.Fatalf("service account from its address: %v", err)
	}
	// Guesses typed into Moodle lock the teacher on Moodle alone.
	if _, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, moodle); refusal(err) != directory.ReasonLockedOut {
		t.Errorf("the teacher through Moodle after 50 guesses there: %v, want locked", err)
	}
	if _, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, ldapFrom("10.1.1.5")); err != nil {
		t.Errorf("the teacher from their own computer after guesses through Moodle: %v", err)
	}
}

// TestLockoutMessagesSayWhichAndWhen: the device and the account are told
// apart, the end is shown to the second, and the lock ends then.
func TestLockoutMessagesSayWhichAndWhen(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.now = f.now.Add(123 * time.Millisecond)
	f.account(t, staff("teacher"), goodPassword)
	for i := range 3 {
		f.account(t, staff(fmt.Sprintf("other%d", i)), goodPassword)
	}
	home := ldapFrom("10.1.1.5")
	f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home)
	for i := range 5 {
		f.d.Authenticate(ctx, "teacher", fmt.Sprintf("typo-%d", i), directory.ServiceLDAP, home)
	}
	_, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home)
	var r *directory.RefusedError
	if !errors.As(err, &r) || r.Decision.Reason != directory.ReasonLockedOut {
		t.Fatalf("after 5 typos at home: %v", err)
	}
	until := r.Decision.Until
	msg := r.Decision.Message(time.UTC)
	if !strings.Contains(msg, "your account is locked") || !strings.Contains(msg, until.Format("15:04:05")) || until.Nanosecond() != 0 {
		t.Errorf("account message %q (until %v): want the account named and the end to the second", msg, until)
	}
	f.now = until.Add(-time.Millisecond)
	if _, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home); refusal(err) != directory.ReasonLockedOut {
		t.Errorf("just before the end shown: %v", err)
	}
	f.now = until
	if _, err := f.d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home); err != nil {
		t.Errorf("at the end shown: %v", err)
	}
	// A source guessing across accounts is told that it is the device.
	src := ldapFrom("10.9.9.9")
	for i := range 10 {
		f.d.Authenticate(ctx, fmt.Sprintf("other%d", i%3), fmt.Sprintf("g%d", i), directory.ServiceLDAP, src)
	}
	_, err = f.d.Authenticate(ctx, "nobody", "x", directory.ServiceLDAP, src)
	if !errors.As(err, &r) || r.Decision.Reason != directory.ReasonDeviceBlocked || !strings.Contains(r.Decision.Message(time.UTC), "this device or computer") {
		t.Errorf("guessing source: %v", err)
	}
}

// failingStore cannot write failure counters, as when the disk is full.
type failingStore struct{ directory.Store }

func (failingStore) NoteFailure(context.Context, string, time.Time, time.Duration, string) (int, error) {
	return 0, errors.New("disk full")
}

// TestLockoutFailsClosed: failures the store cannot write are counted in
// memory, and sign-ins are refused once not even memory can count them.
func TestLockoutFailsClosed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, staff("teacher"), goodPassword)
	d := directory.New(failingStore{f.s}, directory.Config{Hasher: f.d.Hasher(), Now: func() time.Time { return f.now },
		Lockout: directory.Lockout{MemoryLimit: 20}})
	src := ldapFrom("10.9.9.9")
	for i := range 5 {
		d.Authenticate(ctx, "teacher", fmt.Sprintf("guess-%d", i), directory.ServiceLDAP, src)
	}
	if _, err := d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, src); refusal(err) == "" {
		t.Fatalf("failures the store could not write were not counted: %v", err)
	}
	// Fill memory with sources guessing unknown names.
	for i := range 30 {
		d.Authenticate(ctx, "nobody", "x", directory.ServiceLDAP, ldapFrom(fmt.Sprintf("10.8.0.%d", i)))
	}
	if _, err := d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, ldapFrom("10.1.1.5")); !errors.Is(err, directory.ErrCannotCount) {
		t.Fatalf("with nowhere to count: %v, want %v", err, directory.ErrCannotCount)
	}
	f.now = f.now.Add(time.Hour)
	if _, err := d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, ldapFrom("10.1.1.5")); err != nil {
		t.Fatalf("once the counters in memory have run out: %v", err)
	}
}

// TestLockoutAuditIsAggregated: a flood of failures makes a bounded number
// of audit events, which name the account.
func TestLockoutAuditIsAggregated(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, staff("teacher"), goodPassword)
	before, _ := f.s.AuditEvents(ctx, 0, 100000)
	for i := range 1000 {
		f.now = f.now.Add(100 * time.Millisecond)
		f.d.Authenticate(ctx, "teacher", fmt.Sprintf("guess-%d", i), directory.ServiceWiFi,
			directory.Origin{ID: fmt.Sprintf("radius:02-00-00-00-%02x-%02x@ap", i/256, i%256)})
		f.d.Authenticate(ctx, fmt.Sprintf("nobody%d", i), "x", directory.ServiceLDAP, ldapFrom(fmt.Sprintf("10.8.%d.%d", i/256, i%256)))
	}
	f.d.Lockout().Flush(ctx, f.now)
	after, _ := f.s.AuditEvents(ctx, 0, 100000)
	events := after[len(before):]
	if len(events) == 0 || len(events) > 20 {
		t.Fatalf("%d audit events for 2,000 failures over 100 s: want a few", len(events))
	}
	var locked, summed bool
	for _, e := range events {
		locked = locked || (e.Action == audit.ActionSigninLocked && e.Target == "account:teacher")
		summed = summed || (e.Action == audit.ActionSigninFailures && e.Target == "account:teacher")
	}
	if !locked || !summed {
		t.Errorf("events %+v: want the lock and the failures of account:teacher", events)
	}
	about, _ := f.s.AuditEventsAbout(ctx, "account:teacher", 0, 1000)
	if len(about) < 2 {
		t.Errorf("the teacher's events: %d, want the lock and the failures", len(about))
	}
}
