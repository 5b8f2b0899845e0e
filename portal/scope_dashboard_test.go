package portal_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestSchoolTechnicianDashboard: a school's technician's overview counts
// their school's people only (accounts, missing consents, the AUP still to
// sign by their school's version, the refused rows of their school's part
// of the export, failed sign-ins and locks), and none of another school's;
// the trust's technician sees the whole trust.
func TestSchoolTechnicianDashboard(t *testing.T) {
	ctx := context.Background()
	srv := portaltest.Start(t, portaltest.Options{Plain: true, SchoolNames: map[string]string{"north": "Northgate Academy", "south": "Southfield School"}})
	st, d := srv.Store, srv.Directory
	now := d.Now()
	err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		a, err := tx.AccountByUsername(ctx, portaltest.Technician)
		if err != nil {
			return err
		}
		if _, err := tx.UpdateAccount(ctx, a.ID, func(a *directory.Account) error { a.School = "north"; return nil }); err != nil {
			return err
		}
		for _, p := range []directory.Account{
			{Username: "npupil1", School: "north"}, {Username: "npupil2", School: "north"},
			{Username: "spupil1", School: "south"}, {Username: "spupil2", School: "south"}, {Username: "spupil3", School: "south"},
		} {
			p.Role, p.Source, p.YearGroup, p.GivenName, p.FamilyName = directory.RolePupil, directory.SourceManual, "8", "P", "Dash"
			if err := tx.CreateAccount(ctx, &p); err != nil {
				return err
			}
		}
		for _, doc := range []directory.AUPDocument{
			{Audience: "pupil", Version: "north-2026-09", School: "north", Text: "n", Digest: "n", PublishedAt: now.Add(-time.Hour)},
			{Audience: "pupil", Version: "south-2026-09", School: "south", Text: "s", Digest: "s", PublishedAt: now.Add(-30 * time.Minute)},
		} {
			if err := tx.AddAUPDocument(ctx, &doc); err != nil {
				return err
			}
		}
		if err := tx.ReplaceSyncRefusals(ctx, []directory.SyncRefusal{
			{MISID: "N1", Source: "oneroster:/srv/mis#north", Line: 2, Reason: "no name"},
			{MISID: "S1", Source: "oneroster:/srv/mis#south", Line: 3, Reason: "no name"},
			{MISID: "S2", Source: "oneroster:/srv/mis#south", Line: 4, Reason: "no name"},
			{MISID: "T1", Source: "oneroster:/srv/mis", Line: 5, Reason: "no name"},
		}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "dashboard"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// A north pupil fails on LDAP once; a south pupil is locked out by
	// guessing over RADIUS.
	d.Authenticate(ctx, "npupil1", "wrong", directory.ServiceLDAP, directory.Origin{ID: "ldap:192.0.2.1"})
	for i := range 5 {
		d.Authenticate(ctx, "spupil1", fmt.Sprint("wrong", i), directory.ServiceWiFi, directory.Origin{ID: "radius:aa-bb@ap-south"})
	}
	d.Lockout().Flush(ctx, now)

	text := func(b *browser) string {
		t.Helper()
		p := b.get("/")
		if p.status != 200 || !strings.Contains(p.body, `id="dashboard"`) {
			t.Fatalf("home: %d\n%s", p.status, p.body)
		}
		return regexp.MustCompile(`<[^>]+>`).ReplaceAllString(p.body, "")
	}
	tech := mustSignIn(t, srv, portaltest.Technician)
	north := text(tech)
	for _, want := range []string{
		"pupil20",                            // npupil1 and npupil2, active, none disabled
		"staff10",                            // the technician alone is north's
		"Pupils without parental consent: 2", // the two north pupils
		"MIS rows the sync refused: 1",       // north's part of the export
		"pupilnorth-2026-092",                // north's version, still to sign by both
		"ldap1",                              // npupil1's failure
	} {
		if !strings.Contains(north, want) {
			t.Errorf("north's dashboard lacks %q:\n%s", want, north)
		}
	}
	for _, not := range []string{"south-2026-09", "radius", "spupil1"} {
		if strings.Contains(north, not) {
			t.Errorf("north's dashboard shows %q of south:\n%s", not, north)
		}
	}

	// Made the trust's own, the same technician sees the whole trust.
	if err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		a, err := tx.AccountByUsername(ctx, portaltest.Technician)
		if err != nil {
			return err
		}
		if _, err := tx.UpdateAccount(ctx, a.ID, func(a *directory.Account) error { a.School = ""; return nil }); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.trust", Target: "dashboard"})
	}); err != nil {
		t.Fatal(err)
	}
	pupils, err := st.CountAccounts(ctx, directory.AccountQuery{Role: directory.RolePupil, Status: directory.StatusActive})
	if err != nil {
		t.Fatal(err)
	}
	trust := text(tech)
	for _, want := range []string{
		fmt.Sprintf("pupil%d0", pupils),
		"Pupils without parental consent: 5",
		"MIS rows the sync refused: 4",
		"ldap1", "radius5",
		"account, new devicesspupil15",
	} {
		if !strings.Contains(trust, want) {
			t.Errorf("the trust's dashboard lacks %q:\n%s", want, trust)
		}
	}
}
