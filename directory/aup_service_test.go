package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

func pupilAcct(name, year string) directory.Account {
	return directory.Account{Username: name, Role: directory.RolePupil, YearGroup: year, GivenName: "Al", FamilyName: "Pupil"}
}

// lastEvent is the newest audit event.
func lastEvent(t *testing.T, s directory.Store) audit.Event {
	t.Helper()
	ctx := context.Background()
	seq, _, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.AuditEvents(ctx, seq-1, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit events: %v %v", evs, err)
	}
	return evs[0]
}

func TestPublishAUP(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.d.Gate().Policy.ExtraAudiences = []string{"sixth-form"}
	doc, err := f.d.PublishAUP(ctx, "cli:tech", directory.AUPDocument{Audience: "staff", Version: "2026-09", Text: "# Staff AUP\n"})
	if err != nil {
		t.Fatal(err)
	}
	if doc.ID == 0 || doc.Digest != directory.Digest("# Staff AUP\n") || len(doc.Digest) != 64 || !doc.PublishedAt.Equal(f.now) {
		t.Errorf("published %+v", doc)
	}
	if ev := lastEvent(t, f.s); ev.Action != "aup.publish" || ev.Target != "aup:staff" || ev.Actor != "cli:tech" || !strings.Contains(string(ev.After), doc.Digest) {
		t.Errorf("audit event %+v", ev)
	}
	for _, tc := range []struct {
		name string
		doc  directory.AUPDocument
		want error
	}{
		{"unknown audience", directory.AUPDocument{Audience: "aliens", Version: "1", Text: "x"}, directory.ErrUnknownAudience},
		{"version again", directory.AUPDocument{Audience: "staff", Version: "2026-09", Text: "other"}, directory.ErrConflict},
		{"no version", directory.AUPDocument{Audience: "staff", Text: "x"}, directory.ErrInvalid},
		{"no text", directory.AUPDocument{Audience: "staff", Version: "2", Text: " \n"}, directory.ErrInvalid},
	} {
		if _, err := f.d.PublishAUP(ctx, "cli:tech", tc.doc); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// Configured and consent audiences are known; the same version may be
	// used by another audience.
	for _, aud := range []string{"sixth-form", "parent-permission", "pupil"} {
		if _, err := f.d.PublishAUP(ctx, "cli:tech", directory.AUPDocument{Audience: aud, Version: "2026-09", Text: aud}); err != nil {
			t.Errorf("%s: %v", aud, err)
		}
	}
}

func TestRecordSignature(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("jsigner"), "")
	p := f.account(t, pupilAcct("psigner", "8"), "")
	doc, err := f.d.PublishAUP(ctx, "t", directory.AUPDocument{Audience: "staff", Version: "1", Text: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	paper := func(d directory.AUPDocument) directory.Signature {
		return directory.Signature{DocumentID: d.ID, Digest: d.Digest, Method: directory.SignPaper, FormDate: f.now.AddDate(0, 0, -1), Witness: "Ms Head"}
	}
	f.now = f.now.Add(time.Minute)
	for _, tc := range []struct {
		name string
		a    directory.Account
		sig  func(directory.Signature) directory.Signature
		want error
	}{
		{"wrong digest", a, func(s directory.Signature) directory.Signature { s.Digest = directory.Digest("v0"); return s }, directory.ErrDocumentChanged},
		{"not their audience", p, func(s directory.Signature) directory.Signature { return s }, directory.ErrInvalid},
		{"no witness", a, func(s directory.Signature) directory.Signature { s.Witness = " "; return s }, directory.ErrInvalid},
		{"form in the future", a, func(s directory.Signature) directory.Signature { s.FormDate = f.now.AddDate(0, 0, 1); return s }, directory.ErrInvalid},
		{"no form date", a, func(s directory.Signature) directory.Signature { s.FormDate = time.Time{}; return s }, directory.ErrInvalid},
		{"unknown document", a, func(s directory.Signature) directory.Signature { s.DocumentID = 999; return s }, directory.ErrNotFound},
	} {
		if _, err := f.d.RecordSignature(ctx, "cli:office", tc.a, tc.sig(paper(doc))); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceLDAP, f.now); dec.Reason != directory.ReasonAUPUnsigned || dec.Audience != "staff" {
		t.Fatalf("before signing: %+v", dec)
	}
	sig, err := f.d.RecordSignature(ctx, "cli:office", a, paper(doc))
	if err != nil {
		t.Fatal(err)
	}
	if sig.ID == 0 || sig.RecordedBy != "cli:office" || !sig.SignedAt.Equal(f.now) || sig.Witness != "Ms Head" {
		t.Errorf("signature %+v", sig)
	}
	if ev := lastEvent(t, f.s); ev.Action != "aup.sign" || ev.Target != "account:jsigner" || !strings.Contains(string(ev.After), "Ms Head") {
		t.Errorf("audit event %+v", ev)
	}
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceLDAP, f.now); !dec.Allow {
		t.Errorf("after signing: %+v", dec)
	}
	if _, err := f.d.RecordSignature(ctx, "cli:office", a, paper(doc)); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("signing twice: %v", err)
	}
	// A new version that requires re-signing from tomorrow: the old
	// signature counts until then, and the old version can no longer be
	// signed.
	v2, err := f.d.PublishAUP(ctx, "t", directory.AUPDocument{Audience: "staff", Version: "2", Text: "v2", ResignFrom: f.now.AddDate(0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceLDAP, f.now); !dec.Allow {
		t.Errorf("before the re-sign date: %+v", dec)
	}
	if _, err := f.d.RecordSignature(ctx, "cli:office", f.account(t, staff("late"), ""), paper(doc)); !errors.Is(err, directory.ErrDocumentChanged) {
		t.Errorf("signing the old version: %v", err)
	}
	f.now = f.now.AddDate(0, 0, 1)
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceLDAP, f.now); dec.Reason != directory.ReasonAUPUnsigned {
		t.Errorf("after the re-sign date: %+v", dec)
	}
	portal := directory.Signature{DocumentID: v2.ID, Digest: v2.Digest, Method: directory.SignPortal, Address: "192.0.2.4", UserAgent: "Chromium"}
	if _, err := f.d.RecordSignature(ctx, "user:jsigner", a, portal); err != nil {
		t.Fatal(err)
	}
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceLDAP, f.now); !dec.Allow {
		t.Errorf("after re-signing: %+v", dec)
	}
}

func TestRecordSignaturesIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, b := f.account(t, staff("aone"), ""), f.account(t, staff("btwo"), "")
	doc, err := f.d.PublishAUP(ctx, "t", directory.AUPDocument{Audience: "staff", Version: "1", Text: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	good := directory.Signature{DocumentID: doc.ID, Digest: doc.Digest, Method: directory.SignPaper, FormDate: f.now, Witness: "W"}
	bad := good
	bad.Witness = ""
	if _, err := f.d.RecordSignatures(ctx, "t", []directory.SignRequest{{a, good}, {b, bad}}); !errors.Is(err, directory.ErrInvalid) || !strings.Contains(err.Error(), "btwo") {
		t.Fatalf("bad row: %v", err)
	}
	if sigs, _ := f.s.Signatures(ctx, a.ID); len(sigs) != 0 {
		t.Errorf("a failed batch left %d signatures", len(sigs))
	}
	if _, err := f.d.RecordSignatures(ctx, "t", []directory.SignRequest{{a, good}, {b, good}}); err != nil {
		t.Fatal(err)
	}
	if sigs, _ := f.s.Signatures(ctx, b.ID); len(sigs) != 1 {
		t.Errorf("batch: %d signatures", len(sigs))
	}
}

func TestConsent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	p := f.account(t, pupilAcct("ppupil", "9"), "")
	form, err := f.d.PublishAUP(ctx, "t", directory.AUPDocument{Audience: "parent-permission", Version: "1", Text: "permission"})
	if err != nil {
		t.Fatal(err)
	}
	ended := 0
	f.d.OnAccessEnded(func(context.Context, directory.Account) { ended++ })
	give := directory.Consent{ParentName: "Sam Pupil", Relationship: "mother", GivenAt: f.now.AddDate(0, 0, -2)}
	for _, tc := range []struct {
		name string
		a    directory.Account
		c    func(directory.Consent) directory.Consent
	}{
		{"staff", f.account(t, staff("tstaff"), ""), func(c directory.Consent) directory.Consent { return c }},
		{"no parent", p, func(c directory.Consent) directory.Consent { c.ParentName = ""; return c }},
		{"no relationship", p, func(c directory.Consent) directory.Consent { c.Relationship = ""; return c }},
		{"future", p, func(c directory.Consent) directory.Consent { c.GivenAt = f.now.Add(time.Hour); return c }},
	} {
		if _, err := f.d.RecordConsent(ctx, "t", tc.a, tc.c(give)); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := f.d.WithdrawConsent(ctx, "t", p); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("withdraw with none: %v", err)
	}
	c, err := f.d.RecordConsent(ctx, "cli:office", p, give)
	if err != nil {
		t.Fatal(err)
	}
	if c.DocumentID != form.ID || c.Method != directory.SignPaper || c.RecordedBy != "cli:office" {
		t.Errorf("consent %+v", c)
	}
	facts, err := f.d.Gate().Facts(ctx, p, directory.ServiceLDAP, f.now)
	if err != nil {
		t.Fatal(err)
	}
	facts.Signatures = nil
	if dec := f.d.Gate().Policy.Decide(facts, directory.ServiceLDAP, f.now); dec.Reason == directory.ReasonConsentMissing {
		t.Errorf("consent not counted: %+v", dec)
	}
	f.now = f.now.Add(time.Minute)
	if n, err := f.d.WithdrawConsent(ctx, "cli:office", p); err != nil || n != 1 || ended != 1 {
		t.Fatalf("withdraw: %d %v, hooks %d", n, err, ended)
	}
	if ev := lastEvent(t, f.s); ev.Action != "consent.withdraw" || ev.Target != "account:ppupil" {
		t.Errorf("audit %+v", ev)
	}
	if dec, _ := f.d.Gate().Check(ctx, p, directory.ServiceLDAP, f.now); dec.Reason != directory.ReasonConsentMissing {
		t.Errorf("after withdrawal: %+v", dec)
	}
}

func TestSuspendAndLift(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("ssusp"), "")
	var ended []string
	f.d.OnAccessEnded(func(_ context.Context, a directory.Account) { ended = append(ended, a.Username) })
	for _, tc := range []struct {
		name string
		s    directory.Suspension
	}{
		{"no reason", directory.Suspension{Reason: "  "}},
		{"until before from", directory.Suspension{Reason: "r", From: f.now.Add(2 * time.Hour), Until: f.now.Add(time.Hour)}},
		{"until equals from", directory.Suspension{Reason: "r", Until: f.now}},
		{"until in the past", directory.Suspension{Reason: "r", From: f.now.Add(-2 * time.Hour), Until: f.now.Add(-time.Hour)}},
	} {
		if _, err := f.d.Suspend(ctx, "t", a, tc.s); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := f.d.LiftAll(ctx, "t", a, directory.Lifting{}); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("lift with none: %v", err)
	}
	// A suspension that starts later does not end access now.
	later, err := f.d.Suspend(ctx, "cli:dsl", a, directory.Suspension{Reason: "chat misuse", IncidentRef: "INC-9", From: f.now.Add(time.Hour), Until: f.now.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ended) != 0 {
		t.Errorf("a future suspension ended access now: %v", ended)
	}
	if up, err := f.s.UpcomingSuspensions(ctx, f.now); err != nil || len(up) != 1 || up[0].ID != later.ID {
		t.Errorf("upcoming: %+v %v", up, err)
	}
	f.now = f.now.Add(90 * time.Minute)
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceWiFi, f.now); dec.Reason != directory.ReasonSuspended || !dec.Until.Equal(later.Until) {
		t.Errorf("during: %+v", dec)
	}
	f.now = f.now.Add(2 * time.Hour)
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceWiFi, f.now); dec.Reason == directory.ReasonSuspended {
		t.Errorf("after until: %+v", dec)
	}
	open, err := f.d.Suspend(ctx, "cli:dsl", a, directory.Suspension{Reason: "investigation"})
	if err != nil {
		t.Fatal(err)
	}
	if !open.From.Equal(f.now) || !open.Until.IsZero() || open.CreatedBy != "cli:dsl" || len(ended) != 1 {
		t.Errorf("open-ended %+v, ended %v", open, ended)
	}
	if ev := lastEvent(t, f.s); ev.Action != "suspension.add" || !strings.Contains(string(ev.After), "investigation") {
		t.Errorf("audit %+v", ev)
	}
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceLDAP, f.now.AddDate(1, 0, 0)); dec.Reason != directory.ReasonSuspended || !dec.Until.IsZero() {
		t.Errorf("open-ended a year on: %+v", dec)
	}
	f.now = f.now.Add(time.Minute)
	lifted, err := f.d.LiftAll(ctx, "cli:head", a, directory.Lifting{})
	if err != nil || len(lifted) != 1 || lifted[0].ID != open.ID || lifted[0].LiftedBy != "cli:head" {
		t.Fatalf("lift: %+v %v", lifted, err)
	}
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceLDAP, f.now); dec.Reason == directory.ReasonSuspended {
		t.Errorf("after lift: %+v", dec)
	}
	if _, err := f.d.Lift(ctx, "cli:head", a, open.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("lifting again: %v", err)
	}
}
