package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// Graded sanctions in the portal: the safeguarding lead suspends the
// internet only, until the safeguarding role lifts it; a technician sees
// that access is suspended and until when, not why; the lift needs the
// conversation, which the page then shows to the safeguarding lead.
func TestGradedSuspensionAndWhoSeesWhy(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	pupil := srv.Accounts[portaltest.Pupil]
	safe := mustSignIn(t, srv, portaltest.Safeguarding)
	tech := mustSignIn(t, srv, portaltest.Technician)
	path := "/staff/people/" + portaltest.Pupil
	if p := safe.get(path); !strings.Contains(p.body, `<option value="internet">the internet and Wi-Fi only</option>`) || !strings.Contains(p.body, `name="ends" value="role"`) {
		t.Fatalf("suspend form offers no scope or end: %s", p.body)
	}
	if p := safe.post(path+"/suspend", url.Values{"reason": {"x"}, "scope": {"service:smtp"}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "not a suspension scope") {
		t.Errorf("bad scope: %d", p.status)
	}
	if p := safe.post(path+"/suspend", url.Values{"reason": {"Blog misuse"}, "incident": {"INC-44"}, "scope": {"internet"}, "ends": {"role"}}); p.status != http.StatusSeeOther {
		t.Fatalf("suspend: %d %s", p.status, p.body)
	}
	susp, _ := srv.Store.Suspensions(ctx, pupil.ID)
	if len(susp) != 1 || susp[0].Scope != directory.SuspendInternet || susp[0].LiftRole != "safeguarding" || !susp[0].Until.IsZero() {
		t.Fatalf("suspension: %+v", susp)
	}
	now := time.Now()
	if dec, _ := srv.Directory.Gate().Check(ctx, pupil, directory.ServiceWiFi, now); dec.Reason != directory.ReasonSuspended {
		t.Errorf("Wi-Fi: %+v", dec)
	}
	if dec, _ := srv.Directory.Gate().Check(ctx, pupil, directory.ServiceLDAP, now); dec.Reason == directory.ReasonSuspended {
		t.Errorf("LDAP refused by an internet-only suspension: %+v", dec)
	}
	p := tech.get(path)
	if p.status != http.StatusOK || strings.Contains(p.body, "Blog misuse") || strings.Contains(p.body, "INC-44") ||
		!strings.Contains(p.body, "the internet and Wi-Fi only") || !strings.Contains(p.body, "until the safeguarding role lifts it") {
		t.Errorf("technician's page: %d %s", p.status, p.body)
	}
	if p := tech.post(path+"/lift", url.Values{"suspension": {fmt.Sprint(susp[0].ID)}, "with": {"head"}, "note": {"n"}}); p.status != http.StatusForbidden {
		t.Errorf("technician lifts: %d", p.status)
	}
	p = safe.get(path)
	if !strings.Contains(p.body, "Blog misuse") || !strings.Contains(p.body, "INC-44") || !strings.Contains(p.body, `name="note"`) {
		t.Errorf("safeguarding lead's page: %s", p.body)
	}
	if p := safe.post(path+"/lift", url.Values{"suspension": {fmt.Sprint(susp[0].ID)}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "who took part") {
		t.Errorf("lift without the conversation: %d", p.status)
	}
	talked := now.Add(-2 * time.Hour).Format("2006-01-02T15:04")
	if p := safe.post(path+"/lift", url.Values{"suspension": {fmt.Sprint(susp[0].ID)}, "with": {"the head and the pupil's father"},
		"talked": {talked}, "note": {"agreed to post kindly"}}); p.status != http.StatusSeeOther {
		t.Fatalf("lift: %d %s", p.status, p.body)
	}
	susp, _ = srv.Store.Suspensions(ctx, pupil.ID)
	if susp[0].ActiveAt(time.Now()) || susp[0].TalkNote != "agreed to post kindly" || susp[0].TalkWith != "the head and the pupil's father" {
		t.Errorf("after lift: %+v", susp[0])
	}
	if p := safe.get(path); !strings.Contains(p.body, "agreed to post kindly") {
		t.Errorf("the conversation is not shown to the safeguarding lead")
	}
	if p := tech.get(path); strings.Contains(p.body, "agreed to post kindly") || strings.Contains(p.body, "the head and the pupil") {
		t.Errorf("the conversation is shown to a technician")
	}
}

// A suspension of the portal ends the sessions it finds, not only new
// sign-ins; one of the internet only leaves the portal open.
func TestPortalSuspensionEndsSessions(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	pupil := srv.Accounts[portaltest.Pupil]
	b := mustSignIn(t, srv, portaltest.Pupil)
	if _, err := srv.Directory.Suspend(ctx, "test", pupil, directory.Suspension{Scope: directory.SuspendInternet, Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/"); p.status != http.StatusOK {
		t.Fatalf("an internet-only suspension closed the portal: %d", p.status)
	}
	if _, err := srv.Directory.Suspend(ctx, "test", pupil, directory.Suspension{Scope: directory.SuspendService(directory.ServicePortal), Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin" {
		t.Errorf("a portal suspension left the session open: %d", p.status)
	}
	if p := newBrowser(t, srv).signIn(portaltest.Pupil, portaltest.Password); p.status != http.StatusForbidden || !strings.Contains(p.body, "suspended") {
		t.Errorf("signing in under a portal suspension: %d", p.status)
	}
}
