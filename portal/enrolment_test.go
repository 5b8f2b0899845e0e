package portal_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/portal/portaltest"
)

// With a technician's password alone, no passkey can be added to the
// technician's account: the first one needs a one-time enrolment code.
// Someone whose role needs no passkey adds one as before.
func TestPasskeyEnrolmentForPowerfulRoles(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{PasskeyRoles: []portal.StaffRole{portal.RoleTechnician}})
	ctx := context.Background()
	tech := mustSignIn(t, srv, portaltest.Technician)
	if p := tech.get("/passkeys"); !strings.Contains(p.body, `id="passkey-code"`) {
		t.Errorf("the passkeys page asks a technician for no enrolment code")
	}
	for name, code := range map[string]string{"no code": "", "wrong code": "abcde-fghij-kmnpq"} {
		p := tech.post("/passkeys/register/begin", url.Values{"name": {"Laptop"}, "code": {code}})
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "enrolment code") {
			t.Errorf("%s: %d %s, want 403 asking for an enrolment code", name, p.status, p.body)
		}
	}
	code, _, err := srv.Directory.IssuePasskeyEnrolment(ctx, "cli:root", srv.Accounts[portaltest.Technician])
	if err != nil {
		t.Fatal(err)
	}
	p := tech.post("/passkeys/register/begin", url.Values{"name": {"Laptop"}, "code": {" " + strings.ToUpper(code) + " "}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "publicKey") {
		t.Fatalf("begin with the issued code: %d %s", p.status, p.body)
	}
	teacher := mustSignIn(t, srv, portaltest.Teacher)
	if p := teacher.post("/passkeys/register/begin", url.Values{"name": {"Phone"}}); p.status != http.StatusOK {
		t.Errorf("a teacher without powers: %d %s", p.status, p.body)
	}
}

// A code is spent by the transaction that saves the passkey, once, and
// runs out after a day.
func TestPasskeyEnrolmentSpentOnce(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	srv := portaltest.Start(t, portaltest.Options{Now: clock})
	ctx := context.Background()
	d, a := srv.Directory, srv.Accounts[portaltest.Technician]
	code, _, err := d.IssuePasskeyEnrolment(ctx, "cli:root", a)
	if err != nil {
		t.Fatal(err)
	}
	spend := func() error {
		return srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			return d.SpendPasskeyEnrolment(ctx, tx, "user:"+a.Username, a, directory.EnrolmentCodeHash(code))
		})
	}
	if err := spend(); err != nil {
		t.Fatal(err)
	}
	if err := spend(); !errors.Is(err, directory.ErrEnrolmentCode) {
		t.Fatalf("second use: %v", err)
	}
	code, _, _ = d.IssuePasskeyEnrolment(ctx, "cli:root", a)
	now = now.Add(directory.EnrolmentTTL + time.Minute)
	if ok, err := d.HasPasskeyEnrolment(ctx, a, directory.EnrolmentCodeHash(code)); ok || err != nil {
		t.Fatalf("a code a day old: %v %v", ok, err)
	}
	events, err := srv.Store.AuditEventsAbout(ctx, "account:"+a.Username, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var issued, used int
	for _, e := range events {
		switch e.Action {
		case audit.ActionEnrolmentIssue:
			issued++
		case audit.ActionEnrolmentUse:
			used++
		}
		if strings.Contains(string(e.After), code) {
			t.Fatalf("the code is in the trail: %s", e.After)
		}
	}
	if issued != 2 || used != 1 {
		t.Fatalf("trail: %d issued, %d used; want 2 and 1", issued, used)
	}
}

// A technician issues a code for another member of staff in the portal,
// shown once and recorded under their name; never for themselves.
func TestTechnicianIssuesEnrolmentCode(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	tech := mustSignIn(t, srv, portaltest.Technician)
	p := tech.post("/staff/people/"+portaltest.Teacher+"/passkey-enrolment", url.Values{})
	m := regexp.MustCompile(`id="enrolment-code">([a-z0-9-]+)<`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("issue for a teacher: %d %s", p.status, p.body)
	}
	if ok, _ := srv.Directory.HasPasskeyEnrolment(context.Background(), srv.Accounts[portaltest.Teacher], directory.EnrolmentCodeHash(m[1])); !ok {
		t.Fatal("the code shown is not the one stored")
	}
	if p := tech.post("/staff/people/"+portaltest.Technician+"/passkey-enrolment", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("issue for oneself: %d", p.status)
	}
	if p := tech.post("/staff/people/"+portaltest.Pupil+"/passkey-enrolment", url.Values{}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("issue for a pupil: %d", p.status)
	}
	events, _ := srv.Store.AuditEventsAbout(context.Background(), "account:"+portaltest.Teacher, 0, 1000)
	found := false
	for _, e := range events {
		found = found || (e.Action == audit.ActionEnrolmentIssue && e.Actor == "user:"+portaltest.Technician)
	}
	if !found {
		t.Error("the trail has no enrolment code issued by the technician")
	}
}
