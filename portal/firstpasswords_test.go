package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/portal/portaltest"
)

var slipPassword = regexp.MustCompile(`<dd class="pw">([A-Za-z-]+-[2-9]{2})</dd>`)

// TestFirstPasswordsTechnician: a technician gives a pupil a new first
// password (after confirming, since the pupil has one), and gets the
// printable slip; the reset is in the trail with who did it. The pupil
// signing in with it is asked for a new password before anything else.
func TestFirstPasswordsTechnician(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{FirstPasswords: portal.FirstPasswordSettings{Forgotten: "Forgotten your password? Ask Mrs Patel in the IT office."}})
	if p := newBrowser(t, srv).get("/signin"); !strings.Contains(p.body, "Ask Mrs Patel in the IT office.") {
		t.Errorf("the sign-in page lacks the forgotten-password line")
	}
	tech := mustSignIn(t, srv, portaltest.Technician)
	if p := tech.get("/staff/first-passwords"); p.status != 200 || !strings.Contains(p.body, `name="user"`) {
		t.Fatalf("first passwords page: %d", p.status)
	}
	p := tech.post("/staff/first-passwords", url.Values{"user": {portaltest.Pupil}})
	if p.status != 200 || !strings.Contains(p.body, `name="confirm" value="yes"`) || !strings.Contains(p.body, `name="user" value="`+portaltest.Pupil+`"`) {
		t.Fatalf("reset of a pupil with a password is not confirmed first: %d\n%s", p.status, p.body)
	}
	if evs := events(t, srv.Store, "password.reset"); len(evs) != 0 {
		t.Fatal("reset before the confirmation")
	}
	p = tech.post("/staff/first-passwords", url.Values{"user": {portaltest.Pupil}, "confirm": {"yes"}})
	m := slipPassword.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil || !strings.Contains(p.body, `href="/slips.css"`) || !strings.Contains(p.body, "Test School") || !strings.Contains(p.body, "TestSchool") {
		t.Fatalf("slip: %d\n%s", p.status, p.body)
	}
	if p.header.Get("Cache-Control") != "no-store" {
		t.Error("the slip page may be cached")
	}
	if css := tech.get("/slips.css"); css.status != 200 || !strings.Contains(css.body, "A4") {
		t.Errorf("slips.css: %d", css.status)
	}
	evs := events(t, srv.Store, "password.reset")
	if len(evs) != 1 || evs[0].Actor != "user:"+portaltest.Technician || evs[0].Target != "account:"+portaltest.Pupil {
		t.Fatalf("trail: %+v", evs)
	}

	pupil := newBrowser(t, srv)
	if p := pupil.signIn(portaltest.Pupil, portaltest.Password); p.status != http.StatusUnauthorized {
		t.Errorf("the old password after the reset: %d", p.status)
	}
	if p := pupil.signIn(portaltest.Pupil, m[1]); p.status != http.StatusSeeOther {
		t.Fatalf("sign in with the first password: %d", p.status)
	}
	for _, path := range []string{"/", "/wifi", "/aup"} {
		if p := pupil.get(path); p.status != http.StatusSeeOther || p.header.Get("Location") != "/password" {
			t.Errorf("%s before the change: %d %s; want a redirect to /password", path, p.status, p.header.Get("Location"))
		}
	}
	if p := pupil.get("/password"); p.status != 200 || !strings.Contains(p.body, "Choose your own new password now") {
		t.Errorf("password page: %d", p.status)
	}
	const mine = "Walrus-Teapot-Violin-58"
	if p := pupil.post("/password", url.Values{"current": {m[1]}, "new": {mine}, "confirm": {mine}}); p.status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", p.status, p.body)
	}
	if p := pupil.get("/wifi"); p.status != 200 {
		t.Errorf("/wifi after the change: %d", p.status)
	}
	a, _ := srv.Store.AccountByUsername(context.Background(), portaltest.Pupil)
	if a.MustChangePassword {
		t.Error("must-change still set after the change")
	}
}

// TestFirstPasswordsTeacher: a teacher may give first passwords to the
// pupils of their own registration and class groups, not to anyone else,
// and only when configuration allows.
func TestFirstPasswordsTeacher(t *testing.T) {
	for _, allowed := range []bool{true, false} {
		srv := portaltest.Start(t, portaltest.Options{FirstPasswords: portal.FirstPasswordSettings{TeachersIssue: allowed}})
		ctx := context.Background()
		err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			g := directory.Group{Name: "7a", Kind: directory.GroupReg, Source: directory.SourceMIS, Description: "Registration group 7A"}
			if err := tx.CreateGroup(ctx, &g); err != nil {
				return err
			}
			for _, u := range []string{portaltest.Pupil, portaltest.Teacher, portaltest.Safeguarding} {
				if err := tx.AddMember(ctx, g.ID, srv.Accounts[u].ID); err != nil {
					return err
				}
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "group.create", Target: "group:7a"})
		})
		if err != nil {
			t.Fatal(err)
		}
		teacher := mustSignIn(t, srv, portaltest.Teacher)
		if home := teacher.get("/"); strings.Contains(home.body, `href="/staff/first-passwords"`) != allowed {
			t.Errorf("teachers_issue=%v: the menu's first-passwords link is wrong", allowed)
		}
		page := teacher.get("/staff/first-passwords")
		if !allowed {
			if page.status != http.StatusForbidden {
				t.Errorf("teachers not allowed: page %d", page.status)
			}
			if p := teacher.post("/staff/first-passwords", url.Values{"user": {portaltest.Pupil}, "confirm": {"yes"}}); p.status != http.StatusForbidden {
				t.Errorf("teachers not allowed: issue %d", p.status)
			}
			continue
		}
		if page.status != 200 || !strings.Contains(page.body, "Registration group 7A") {
			t.Fatalf("teacher's page: %d\n%s", page.status, page.body)
		}
		for _, u := range []string{portaltest.Safeguarding, portaltest.Technician} {
			if p := teacher.post("/staff/first-passwords", url.Values{"user": {u}, "confirm": {"yes"}}); p.status != http.StatusForbidden {
				t.Errorf("teacher resetting %s (not their pupil): %d", u, p.status)
			}
		}
		if p := teacher.post("/staff/first-passwords", url.Values{"group": {"portal-technicians"}}); p.status != http.StatusForbidden {
			t.Errorf("teacher issuing for a group not theirs: %d", p.status)
		}
		p := teacher.post("/staff/first-passwords", url.Values{"group": {"7a"}, "all": {"yes"}, "confirm": {"yes"}})
		if p.status != 200 || slipPassword.FindStringSubmatch(p.body) == nil || !strings.Contains(p.body, "not a pupil of your groups") {
			t.Fatalf("teacher's group: %d\n%s", p.status, p.body)
		}
		if n := strings.Count(p.body, `<section class="slip">`); n != 1 {
			t.Errorf("%d slips for the group; want the one pupil", n)
		}
		if evs := events(t, srv.Store, "password.reset"); len(evs) != 1 || evs[0].Actor != "user:"+portaltest.Teacher {
			t.Errorf("trail: %+v", evs)
		}
	}
}
