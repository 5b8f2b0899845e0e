package portal_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestApprovalsPage: the head (in the device approvers' group) approves a
// pupil's phone with an end date; the safeguarding lead (exception
// approvers) records a simpler password policy; neither may do the
// other's; a teacher may not see the page; a revocation ends one.
func TestApprovalsPage(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{Controls: directory.Controls{DeviceApprovers: []string{"head"},
		ExceptionApprovers: []string{"portal-safeguarding"}}})
	ctx := context.Background()
	if _, err := srv.Directory.CreateGroup(ctx, "test", directory.Group{Name: "head"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Directory.AddMembers(ctx, "test", "head", []string{portaltest.Auditor}); err != nil {
		t.Fatal(err)
	}
	head := mustSignIn(t, srv, portaltest.Auditor)
	dsl := mustSignIn(t, srv, portaltest.Safeguarding)
	teacher := mustSignIn(t, srv, portaltest.Teacher)
	page := "/staff/approvals/" + portaltest.Pupil

	if p := teacher.get(page); p.status != 403 {
		t.Errorf("a teacher sees a pupil's approvals: %d", p.status)
	}
	if p := head.get("/staff/approvals?user=" + portaltest.Pupil); p.status != 303 || p.header.Get("Location") != page {
		t.Errorf("the search: %d %s", p.status, p.header.Get("Location"))
	}
	p := head.get(page)
	if p.status != 200 || !strings.Contains(p.body, "Approve a personal device") || strings.Contains(p.body, "Record an exception") {
		t.Fatalf("the head's page: %d\n%s", p.status, p.body)
	}
	device := url.Values{"kind": {"personal-device"}, "mac": {"02:00:00:00:00:07"}, "reason": {"insulin pump app"}}
	if p := head.post(page, device); p.status != 422 || !strings.Contains(p.body, "end date") {
		t.Errorf("no end date: %d", p.status)
	}
	device.Set("until", "2099-07-22")
	if p := dsl.post(page, device); p.status != 403 || !strings.Contains(p.body, "only members of head") {
		t.Errorf("the DSL approved a device: %d\n%s", p.status, p.body)
	}
	if p := head.post(page, device); p.status != 303 {
		t.Fatalf("approve the device: %d\n%s", p.status, p.body)
	}
	exception := url.Values{"kind": {"password"}, "policy": {"pupil-ks1"}, "reason": {"EHCP: reading age 6"}, "until": {"2099-07-22"}}
	if p := head.post(page, exception); p.status != 403 {
		t.Errorf("the head recorded an exception: %d", p.status)
	}
	if p := dsl.post(page, exception); p.status != 303 {
		t.Fatalf("record the exception: %d\n%s", p.status, p.body)
	}
	p = dsl.get(page + "?done=approved")
	if !strings.Contains(p.body, "device 02-00-00-00-00-07; approved by "+portaltest.Auditor) || !strings.Contains(p.body, "password policy pupil-ks1; approved by "+portaltest.Safeguarding) {
		t.Fatalf("the page lists:\n%s", p.body)
	}
	aps, err := srv.Store.Approvals(ctx, srv.Accounts[portaltest.Pupil].ID)
	if err != nil || len(aps) != 2 {
		t.Fatalf("approvals: %v %v", aps, err)
	}
	revoke := page + "/" + strconv.FormatInt(aps[0].ID, 10) + "/revoke"
	if p := dsl.post(revoke, nil); p.status != 403 {
		t.Errorf("the DSL revoked the head's device approval: %d", p.status)
	}
	if p := head.post(revoke, nil); p.status != 303 {
		t.Fatalf("revoke: %d\n%s", p.status, p.body)
	}
	if in, _ := srv.Directory.ApprovalsInForce(ctx, srv.Accounts[portaltest.Pupil], srv.Directory.Now()); len(in) != 1 || in[0].Kind != directory.ApprovalPassword {
		t.Errorf("in force after the revocation: %+v", in)
	}
}
