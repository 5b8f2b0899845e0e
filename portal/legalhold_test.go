package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// Legal holds in the portal: the data-protection officer sets and lifts
// one from the person page; a technician neither sees nor sets them.
func TestLegalHoldInPortal(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	dpo := directory.Account{Username: "tdpo", Role: directory.RoleStaff, GivenName: "Dee", FamilyName: "Officer", Source: directory.SourceManual, Status: directory.StatusActive}
	if err := srv.Directory.CreateAccount(ctx, "test", &dpo, []string{"portal-data-protection"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Directory.SetPassword(ctx, "test", dpo, portaltest.Password); err != nil {
		t.Fatal(err)
	}
	pupil := srv.Accounts[portaltest.Pupil]
	path := "/staff/people/" + portaltest.Pupil
	tech := mustSignIn(t, srv, portaltest.Technician)
	if p := tech.get(path); strings.Contains(p.body, "Legal holds") {
		t.Errorf("a technician sees legal holds")
	}
	if p := tech.post(path+"/hold", url.Values{"kind": {"safeguarding"}, "reason": {"x"}}); p.status != http.StatusForbidden {
		t.Errorf("a technician sets a hold: %d", p.status)
	}
	b := mustSignIn(t, srv, "tdpo")
	if p := b.get(path); p.status != http.StatusOK || !strings.Contains(p.body, "Set a legal hold") {
		t.Fatalf("the DPO's person page: %d %s", p.status, p.body)
	}
	if p := b.post(path+"/hold", url.Values{"kind": {"subject-access"}, "reason": {""}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("a hold without a reason: %d", p.status)
	}
	if p := b.post(path+"/hold", url.Values{"kind": {"subject-access"}, "reason": {"SAR from a parent"}, "reference": {"SAR-3"}}); p.status != http.StatusSeeOther {
		t.Fatalf("set: %d %s", p.status, p.body)
	}
	if hs, _ := srv.Store.LegalHolds(ctx, pupil.ID); len(hs) != 1 || !hs[0].Open() || hs[0].SetBy != "user:tdpo" || hs[0].Reference != "SAR-3" {
		t.Fatalf("holds: %+v", hs)
	}
	if p := b.get(path); !strings.Contains(p.body, "<strong>Open</strong>: subject-access — SAR from a parent (ref SAR-3)") {
		t.Errorf("the hold is not shown: %s", p.body)
	}
	if p := b.post(path+"/hold/lift", url.Values{"note": {"request answered"}}); p.status != http.StatusSeeOther {
		t.Fatalf("lift: %d %s", p.status, p.body)
	}
	if hs, _ := srv.Store.LegalHolds(ctx, pupil.ID); len(hs) != 1 || hs[0].Open() || hs[0].LiftNote != "request answered" {
		t.Errorf("after lift: %+v", hs)
	}
	if len(events(t, srv.Store, "legal_hold.set")) != 1 || len(events(t, srv.Store, "legal_hold.lift")) != 1 {
		t.Errorf("not audited")
	}
}
