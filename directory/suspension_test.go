package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

func TestSuspensionCovers(t *testing.T) {
	ldap, wifi, portal := directory.ServiceLDAP, directory.ServiceWiFi, directory.ServicePortal
	for _, tc := range []struct {
		scope directory.SuspensionScope
		want  map[directory.Service]bool
	}{
		{"", map[directory.Service]bool{ldap: true, wifi: true}},
		{directory.SuspendAll, map[directory.Service]bool{ldap: true, wifi: true}},
		{directory.SuspendInternet, map[directory.Service]bool{wifi: true}},
		{directory.SuspendService(ldap), map[directory.Service]bool{ldap: true}},
		{directory.SuspendService(wifi), map[directory.Service]bool{wifi: true}},
		{directory.SuspendService(portal), map[directory.Service]bool{portal: true}},
	} {
		for _, svc := range []directory.Service{ldap, wifi, portal} {
			if got := (directory.Suspension{Scope: tc.scope}).Covers(svc); got != tc.want[svc] {
				t.Errorf("scope %q covers %s = %v, want %v", tc.scope, svc, got, tc.want[svc])
			}
		}
	}
	for _, bad := range []string{"ldap", "service:", "service:smtp", "internet,wifi"} {
		if _, err := directory.ParseSuspensionScope(bad); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("scope %q: %v, want ErrInvalid", bad, err)
		}
	}
	if sc, err := directory.ParseSuspensionScope(" Service:WiFi "); err != nil || sc != directory.SuspendService(wifi) {
		t.Errorf("service:wifi read as %q %v", sc, err)
	}
}

// A suspension that only a role may lift has no end date, is refused to
// anyone without the role and to a lift without the conversation, and
// keeps the conversation with the lift and in the trail.
func TestSuspensionLiftedByRole(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, pupilAcct("rolelift", "9"), "")
	if _, err := f.d.Suspend(ctx, "cli:dsl", a, directory.Suspension{Reason: "r", LiftRole: "safeguarding", Until: f.now.AddDate(0, 0, 3)}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("a role lift with an end date: %v", err)
	}
	s, err := f.d.Suspend(ctx, "cli:dsl", a, directory.Suspension{Reason: "blog misuse", IncidentRef: "INC-12", Scope: directory.SuspendInternet, LiftRole: "safeguarding"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, f.s); !strings.Contains(string(ev.After), `"lift_role":"safeguarding"`) || !strings.Contains(string(ev.After), `"scope":"internet"`) {
		t.Errorf("suspend audit: %s", ev.After)
	}
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceWiFi, f.now.AddDate(2, 0, 0)); dec.Reason != directory.ReasonSuspended {
		t.Errorf("two years on, not ended by any date: %+v", dec)
	}
	for _, tc := range []struct {
		name string
		l    directory.Lifting
		want error
	}{
		{"no role", directory.Lifting{With: "head", Note: "n"}, directory.ErrRoleRequired},
		{"another role", directory.Lifting{Roles: []string{"technician", "auditor"}, With: "head", Note: "n"}, directory.ErrRoleRequired},
		{"no one named", directory.Lifting{Roles: []string{"safeguarding"}, Note: "n"}, directory.ErrInvalid},
		{"no note", directory.Lifting{Roles: []string{"safeguarding"}, With: "head"}, directory.ErrInvalid},
		{"talk to come", directory.Lifting{Roles: []string{"safeguarding"}, With: "head", Note: "n", At: f.now.Add(time.Hour)}, directory.ErrInvalid},
	} {
		if _, err := f.d.LiftWith(ctx, "cli:x", a, s.ID, tc.l); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := f.d.Lift(ctx, "cli:x", a, s.ID); !errors.Is(err, directory.ErrRoleRequired) {
		t.Errorf("plain Lift: %v", err)
	}
	if _, err := f.d.LiftAll(ctx, "cli:x", a, directory.Lifting{Roles: []string{"technician"}}); !errors.Is(err, directory.ErrRoleRequired) {
		t.Errorf("LiftAll without the role: %v", err)
	}
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceWiFi, f.now); dec.Reason != directory.ReasonSuspended {
		t.Errorf("refused lifts lifted it: %+v", dec)
	}
	talk := f.now.Add(-time.Hour)
	got, err := f.d.LiftWith(ctx, "user:dsl", a, s.ID, directory.Lifting{Roles: []string{"safeguarding"}, With: "the head, the pupil and her father", At: talk, Note: "agreed to post kindly"})
	if err != nil {
		t.Fatal(err)
	}
	if got.LiftedBy != "user:dsl" || got.TalkWith != "the head, the pupil and her father" || !got.TalkAt.Equal(talk) || got.TalkNote != "agreed to post kindly" {
		t.Errorf("lifted: %+v", got)
	}
	ev := lastEvent(t, f.s)
	if ev.Action != "suspension.lift" || !strings.Contains(string(ev.After), "agreed to post kindly") || !strings.Contains(string(ev.After), "the head, the pupil and her father") {
		t.Errorf("lift audit: %+v %s", ev, ev.After)
	}
	if dec, _ := f.d.Gate().Check(ctx, a, directory.ServiceWiFi, f.now); dec.Reason == directory.ReasonSuspended {
		t.Errorf("after the lift: %+v", dec)
	}
	// Others read that access is suspended and until when, not why.
	if p := s.Public(); p.Reason != "" || p.IncidentRef != "" || p.Scope != s.Scope || p.LiftRole != s.LiftRole {
		t.Errorf("public view: %+v", p)
	}
}

// The scope comes from a form or a command line: whatever is typed, it is
// refused or read as a scope that parses to itself and covers at most the
// three services, the portal only when named.
func FuzzParseSuspensionScope(f *testing.F) {
	for _, s := range []string{"", "all", "internet", "service:ldap", "service:wifi", "service:portal", "service:", "Service:WiFi ", "ldap", "service:smtp", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		sc, err := directory.ParseSuspensionScope(v)
		if err != nil {
			if !errors.Is(err, directory.ErrInvalid) {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		if again, err := directory.ParseSuspensionScope(string(sc)); err != nil || again != sc {
			t.Fatalf("%q read as %q, which reads as %q %v", v, sc, again, err)
		}
		s := directory.Suspension{Scope: sc}
		n := 0
		for _, svc := range []directory.Service{directory.ServiceLDAP, directory.ServiceWiFi, directory.ServicePortal} {
			if s.Covers(svc) {
				n++
			}
		}
		if n == 0 || (s.Covers(directory.ServicePortal) && sc != directory.SuspendService(directory.ServicePortal)) {
			t.Fatalf("%q covers %d services (portal %v)", sc, n, s.Covers(directory.ServicePortal))
		}
	})
}
