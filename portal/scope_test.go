package portal_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/portal/portaltest"
)

// TestSchoolStaffActOnTheirSchool: a school's technician and safeguarding
// lead find, see and act on their school's people only; another school's
// pupil is refused with the reason, and the refusal is in the trail; a
// member of staff of the trust's own sees everyone.
func TestSchoolStaffActOnTheirSchool(t *testing.T) {
	ctx := context.Background()
	srv := portaltest.Start(t, portaltest.Options{Plain: true, SchoolNames: map[string]string{"north": "Northgate Academy"}})
	st := srv.Store
	err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		for _, name := range []string{portaltest.Technician, portaltest.Safeguarding} {
			a, err := tx.AccountByUsername(ctx, name)
			if err != nil {
				return err
			}
			if _, err := tx.UpdateAccount(ctx, a.ID, func(a *directory.Account) error { a.School = "north"; return nil }); err != nil {
				return err
			}
		}
		for _, p := range []directory.Account{
			{Username: "npupil", School: "north", GivenName: "Nia", FamilyName: "Scope"},
			{Username: "spupil", School: "south", GivenName: "Sol", FamilyName: "Scope"},
			{Username: "dpupil", School: "south", AlsoSchools: []string{"north"}, GivenName: "Dee", FamilyName: "Scope"},
		} {
			p.Role, p.Source, p.YearGroup = directory.RolePupil, directory.SourceManual, "8"
			if err := tx.CreateAccount(ctx, &p); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "scope"})
	})
	if err != nil {
		t.Fatal(err)
	}

	// Guessing locks a pupil of each school out of new devices.
	for _, name := range []string{"npupil", "spupil"} {
		a, err := st.AccountByUsername(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			att, err := srv.Directory.Lockout().Begin(ctx, a, "", directory.Origin{ID: fmt.Sprintf("radius:guesser-%d@ap", i)}, srv.Directory.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := att.Fail(ctx, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	tech := mustSignIn(t, srv, portaltest.Technician)
	if p := tech.get("/"); !strings.Contains(p.body, "Northgate Academy") {
		t.Errorf("north's technician does not see their school's name:\n%.1500s", p.body)
	} else if !strings.Contains(p.body, ">npupil<") || strings.Contains(p.body, ">spupil<") {
		t.Errorf("north's technician's dashboard shows the locked-out of the wrong school:\n%s", p.body)
	}
	if p := tech.get("/staff/people?q=scope"); p.status != 200 || !strings.Contains(p.body, "npupil") || !strings.Contains(p.body, "dpupil") || strings.Contains(p.body, "spupil") {
		t.Errorf("north's technician's search: %d\n%s", p.status, p.body)
	}
	if p := tech.get("/staff/people/npupil"); p.status != 200 {
		t.Errorf("own school's pupil: %d", p.status)
	}
	if p := tech.get("/staff/people/dpupil"); p.status != 200 {
		t.Errorf("pupil dual-registered at north: %d", p.status)
	}
	p := tech.get("/staff/people/spupil")
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "spupil belongs to school south, and you act for school north") {
		t.Errorf("another school's pupil: %d\n%s", p.status, p.body)
	}
	// A visitor a school's technician lets in is the school's.
	if p := tech.post("/staff/guests", url.Values{"given": {"Vic"}, "family": {"Scope"}, "sponsor": {"Tess"}, "duration": {"8h"}}); p.status != 200 {
		t.Fatalf("guest: %d\n%.1000s", p.status, p.body)
	}
	guests, err := st.ListAccounts(ctx, directory.AccountQuery{Role: directory.RoleGuest, School: "north"})
	if err != nil || len(guests) != 1 {
		t.Errorf("north's guests: %v %v", guests, err)
	}
	safe := mustSignIn(t, srv, portaltest.Safeguarding)
	if p := safe.post("/staff/people/spupil/suspend", url.Values{"reason": {"proof"}, "until_lifted": {"yes"}}); p.status != http.StatusForbidden {
		t.Errorf("suspend another school's pupil: %d\n%s", p.status, p.body)
	}
	sp, err := st.AccountByUsername(ctx, "spupil")
	if err != nil {
		t.Fatal(err)
	}
	if sus, _ := st.Suspensions(ctx, sp.ID); len(sus) != 0 {
		t.Errorf("suspended across schools: %+v", sus)
	}
	refused := events(t, st, string(audit.ActionScopeRefused))
	if len(refused) != 2 {
		t.Fatalf("%d refusals in the trail, want 2", len(refused))
	}
	for _, e := range refused {
		if e.Target != "account:spupil" || !strings.Contains(string(e.After), `"acting_school":"north"`) {
			t.Errorf("refusal: %s %s %s", e.Actor, e.Target, e.After)
		}
	}
	// Made the trust's own (no school), the technician acts on everyone.
	trust, err := st.AccountByUsername(ctx, portaltest.Technician)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if _, err := tx.UpdateAccount(ctx, trust.ID, func(a *directory.Account) error { a.School = ""; return nil }); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.trust", Target: "scope"})
	}); err != nil {
		t.Fatal(err)
	}
	if p := tech.get("/staff/people/spupil"); p.status != 200 {
		t.Errorf("the trust's technician: %d", p.status)
	}
}

// TestSchoolAuditorGetsTheirRegister: a school's auditor downloads their
// school's register (its people and those on its roll too), never the
// trust's; the audit trail, the whole trust's, is refused them; a school's
// technician reviews their school's people.
func TestSchoolAuditorGetsTheirRegister(t *testing.T) {
	ctx := context.Background()
	srv := portaltest.Start(t, portaltest.Options{Plain: true, ServicesFor: func(d *directory.Directory) portal.Services {
		return portal.Services{Exports: directory.Exports{D: d, Location: time.UTC}}
	}})
	st := srv.Store
	if err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		for _, name := range []string{portaltest.Auditor, portaltest.Technician} {
			a, err := tx.AccountByUsername(ctx, name)
			if err != nil {
				return err
			}
			if _, err := tx.UpdateAccount(ctx, a.ID, func(a *directory.Account) error { a.School = "north"; return nil }); err != nil {
				return err
			}
		}
		for _, p := range []directory.Account{
			{Username: "npupil", School: "north", GivenName: "Nia", FamilyName: "Scope"},
			{Username: "spupil", School: "south", GivenName: "Sol", FamilyName: "Scope"},
			{Username: "dpupil", School: "south", AlsoSchools: []string{"north"}, GivenName: "Dee", FamilyName: "Scope"},
			{Username: "sguest", Role: directory.RoleGuest, School: "south", GivenName: "Gus", FamilyName: "Guest"},
			{Username: "nguest", Role: directory.RoleGuest, School: "north", GivenName: "Nell", FamilyName: "Guest"},
		} {
			if p.Role == "" {
				p.Role = directory.RolePupil
			}
			p.Source, p.YearGroup = directory.SourceManual, "8"
			if err := tx.CreateAccount(ctx, &p); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "scope"})
	}); err != nil {
		t.Fatal(err)
	}
	aud := mustSignIn(t, srv, portaltest.Auditor)
	p := aud.post("/audit/register", url.Values{})
	if p.status != 200 || !strings.Contains(p.body, "npupil") || !strings.Contains(p.body, "dpupil") || strings.Contains(p.body, "spupil") ||
		!strings.Contains(p.body, "south+north") {
		t.Errorf("north's register: %d\n%s", p.status, p.body)
	}
	if p := aud.post("/audit/events", url.Values{}); p.status != http.StatusForbidden || !strings.Contains(p.body, "whole trust") {
		t.Errorf("a school's auditor and the trail: %d", p.status)
	}
	tech := mustSignIn(t, srv, portaltest.Technician)
	if p := tech.get("/staff/review"); p.status != 200 || strings.Contains(p.body, "sguest") || !strings.Contains(p.body, "nguest") {
		t.Errorf("north's review lists south's guest: %d\n%s", p.status, p.body)
	}
}

// TestSchoolTechnicianSyncsTheirSchool: in the portal a school's
// technician plans and applies their own school's sync (its part of the
// trust's export) and is refused the leaver job, which is the trust's.
func TestSchoolTechnicianSyncsTheirSchool(t *testing.T) {
	ctx := context.Background()
	srv := portaltest.Start(t, portaltest.Options{Plain: true, SchoolNames: map[string]string{"north": "Northgate", "south": "Southfield"}, ServicesFor: func(d *directory.Directory) portal.Services {
		jobs := lifecycle.NewJobs(&lifecycle.Engine{Dir: d}, lifecycle.JobsConfig{
			Source:  "oneroster:" + filepath.Join("..", "lifecycle", "testdata", "oneroster-trust"),
			Schools: []lifecycle.SchoolSource{{School: "north", OrgIDs: []string{"org-north"}}, {School: "south", OrgIDs: []string{"org-south"}}},
		}, slog.New(slog.DiscardHandler))
		return portal.Services{Lifecycle: portal.JobsLifecycle(jobs)}
	}})
	st := srv.Store
	tech, err := st.AccountByUsername(ctx, portaltest.Technician)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if _, err := tx.UpdateAccount(ctx, tech.ID, func(a *directory.Account) error { a.School = "north"; return nil }); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "scope"})
	}); err != nil {
		t.Fatal(err)
	}
	b := mustSignIn(t, srv, portaltest.Technician)
	p := b.post("/staff/sync/plan", url.Values{"job": {"sync"}})
	if p.status != 200 || !strings.Contains(p.body, "Ashworth") || strings.Contains(p.body, "Dean") || !strings.Contains(p.body, "#north") {
		t.Fatalf("north's plan: %d\n%s", p.status, p.body)
	}
	if p := b.post("/staff/sync/plan", url.Values{"job": {"leavers"}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "whole trust") {
		t.Errorf("north's technician and the leaver job: %d", p.status)
	}
	if p := b.get("/staff/sync"); p.status != 200 || strings.Contains(p.body, `id="school"`) {
		t.Errorf("north's technician is offered a choice of school: %d", p.status)
	}
	// The trust's technician chooses the school to sync.
	if err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if _, err := tx.UpdateAccount(ctx, tech.ID, func(a *directory.Account) error { a.School = ""; return nil }); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "scope"})
	}); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/staff/sync"); !strings.Contains(p.body, `<option value="south">Southfield</option>`) {
		t.Errorf("the trust's technician is not offered the schools:\n%s", p.body)
	}
	if p := b.post("/staff/sync/plan", url.Values{"job": {"sync"}, "school": {"south"}}); p.status != 200 || !strings.Contains(p.body, "Dean") || strings.Contains(p.body, "Ashworth") {
		t.Errorf("south's plan for the trust's technician: %d\n%s", p.status, p.body)
	}
}
