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

// Consent as it is: agreed, refused and withdrawn, each with who gave it
// and their relationship; the gate honours the latest.
func TestConsentDecisions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	p := f.account(t, pupilAcct("lacpupil", "8"), "")
	ended := 0
	f.d.OnAccessEnded(func(context.Context, directory.Account) { ended++ })
	missing := func() bool {
		t.Helper()
		facts, err := f.d.Gate().Facts(ctx, p, directory.ServiceLDAP, f.now)
		if err != nil {
			t.Fatal(err)
		}
		facts.Signatures, facts.Documents = nil, nil
		return f.d.Gate().Policy.Decide(facts, directory.ServiceLDAP, f.now).Reason == directory.ReasonConsentMissing
	}
	if _, err := f.d.RecordConsent(ctx, "t", p, directory.Consent{ParentName: "x", Relationship: "y", GivenAt: f.now, Decision: "maybe"}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("unknown decision: %v", err)
	}
	steps := []struct {
		c       directory.Consent
		action  string
		missing bool
	}{
		{directory.Consent{ParentName: "Mo Carer", Relationship: "carer", Decision: directory.ConsentRefused}, "consent.refuse", true},
		{directory.Consent{ParentName: "Westshire Council (J. Officer)", Relationship: directory.RelationshipLocalAuthority}, "consent.add", false},
		{directory.Consent{ParentName: "Westshire Council (J. Officer)", Relationship: directory.RelationshipLocalAuthority, Decision: directory.ConsentWithdrawn}, "consent.withdraw", true},
		{directory.Consent{ParentName: "Mo Carer", Relationship: "carer", Decision: directory.ConsentAgreed}, "consent.add", false},
		{directory.Consent{ParentName: "Mo Carer", Relationship: "carer", Decision: directory.ConsentRefused}, "consent.refuse", true},
	}
	for i, st := range steps {
		f.now = f.now.Add(time.Hour)
		st.c.GivenAt = f.now
		c, err := f.d.RecordConsent(ctx, "cli:office", p, st.c)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if ev := lastEvent(t, f.s); string(ev.Action) != st.action || !strings.Contains(string(ev.After), st.c.ParentName) || !strings.Contains(string(ev.After), st.c.Relationship) {
			t.Errorf("step %d: audit %s %s", i, ev.Action, ev.After)
		}
		if c.RecordedBy != "cli:office" {
			t.Errorf("step %d: recorded by %q", i, c.RecordedBy)
		}
		if got := missing(); got != st.missing {
			t.Errorf("step %d (%s by %s): consent missing = %v, want %v", i, st.c.Decision, st.c.Relationship, got, st.missing)
		}
	}
	if ended != 3 {
		t.Errorf("access ended %d times, want 3 (each refusal or withdrawal)", ended)
	}
	all, err := f.s.Consents(ctx, p.ID)
	if err != nil || len(all) != 5 {
		t.Fatalf("consents: %+v %v", all, err)
	}
	if all[1].Decision != directory.ConsentAgreed || all[1].WithdrawnAt.IsZero() || all[0].Decision != directory.ConsentRefused {
		t.Errorf("history: %+v", all)
	}
	// The register, now and rebuilt from the trail, shows no consent
	// after the refusal.
	for _, asOf := range []time.Time{{}, f.now.Add(time.Minute)} {
		err := f.d.Register(ctx, asOf, func(r audit.RegisterRow) error {
			if r.Username == p.Username && !r.ConsentGiven.IsZero() {
				t.Errorf("register (as of %v) shows consent given %v after a refusal", asOf, r.ConsentGiven)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, err := f.s.MissingConsents(ctx); err != nil || n != 1 {
		t.Errorf("missing consents = %d %v, want the refused pupil counted", n, err)
	}
}
