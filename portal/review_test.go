package portal_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestAccessReviewPage: technicians and auditors see the review; only a
// technician records one, with a decision and a reason on every row, as
// one audited change; both download it for the auditor.
func TestAccessReviewPage(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	tech := mustSignIn(t, srv, portaltest.Technician)
	auditor := mustSignIn(t, srv, portaltest.Auditor)
	teacher := mustSignIn(t, srv, portaltest.Teacher)

	if p := teacher.get("/staff/review"); p.status != 403 {
		t.Errorf("a teacher sees the review: %d", p.status)
	}
	p := tech.get("/staff/review")
	if p.status != 200 || !strings.Contains(p.body, "one is due now") || !strings.Contains(p.body, `name="d:privileged:`+portaltest.Safeguarding+`:portal-safeguarding"`) {
		t.Fatalf("technician's review page: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, portaltest.Pupil) {
		t.Errorf("a pupil in use is listed")
	}
	p = auditor.get("/staff/review")
	if p.status != 200 || !strings.Contains(p.body, portaltest.Safeguarding) || strings.Contains(p.body, "Record the review") {
		t.Errorf("auditor's review page (a list, no form): %d", p.status)
	}
	if p := auditor.post("/staff/review", url.Values{}); p.status != 403 {
		t.Errorf("an auditor recorded a review: %d", p.status)
	}

	form := url.Values{}
	for _, u := range []string{portaltest.Technician, portaltest.Auditor} {
		group := map[string]string{portaltest.Technician: "portal-technicians", portaltest.Auditor: "portal-auditors"}[u]
		form.Set("d:privileged:"+u+":"+group, "keep")
		form.Set("r:privileged:"+u+":"+group, "still in post")
	}
	// One row left blank: nothing is recorded, and what was typed stays.
	p = tech.post("/staff/review", form)
	if p.status != 422 || !strings.Contains(p.body, "on every row") || !strings.Contains(p.body, `value="still in post"`) {
		t.Fatalf("a review with a blank row: %d\n%s", p.status, p.body)
	}
	if ev := events(t, srv.Store, directory.ActionReviewRecord); len(ev) != 0 {
		t.Fatalf("a blank row was recorded")
	}
	form.Set("d:privileged:"+portaltest.Safeguarding+":portal-safeguarding", "remove")
	form.Set("r:privileged:"+portaltest.Safeguarding+":portal-safeguarding", "no longer the DSL")
	form.Set("d:privileged:nobody:portal-technicians", "remove") // not on the review: ignored
	form.Set("r:privileged:nobody:portal-technicians", "forged")
	if p := tech.post("/staff/review", form); p.status != 303 {
		t.Fatalf("record: %d\n%s", p.status, p.body)
	}
	ev := events(t, srv.Store, directory.ActionReviewRecord)
	if len(ev) != 1 || ev[0].Actor != "user:"+portaltest.Technician || !strings.Contains(string(ev[0].After), "no longer the DSL") || strings.Contains(string(ev[0].After), "forged") {
		t.Fatalf("review events: %+v", ev)
	}
	g, _ := srv.Store.GroupByName(ctx, "portal-safeguarding")
	if m, _ := srv.Store.Members(ctx, g.ID); len(m) != 0 {
		t.Errorf("portal-safeguarding still has %v", m)
	}
	if p := tech.get("/staff/review"); !strings.Contains(p.body, "Next due") || strings.Contains(p.body, "portal-safeguarding") {
		t.Errorf("after the review:\n%s", p.body)
	}

	p = auditor.post("/staff/review/export", url.Values{"format": {"csv"}})
	if p.status != 200 || !strings.HasPrefix(p.body, audit.UTF8BOM+"Reason listed,Username") || !strings.Contains(p.body, portaltest.Technician) {
		t.Errorf("CSV download: %d %q", p.status, p.body)
	}
	p = auditor.post("/staff/review/export", url.Values{"format": {"xlsx"}})
	if zr, err := zip.NewReader(bytes.NewReader([]byte(p.body)), int64(len(p.body))); p.status != 200 || err != nil || len(zr.File) == 0 {
		t.Errorf("XLSX download: %d %v", p.status, err)
	}
	if ev := events(t, srv.Store, "export.review"); len(ev) != 2 {
		t.Errorf("downloads recorded: %d, want 2", len(ev))
	}
}
