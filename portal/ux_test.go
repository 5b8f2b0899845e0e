package portal_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/portal/portaltest"
)

var (
	peopleRowRE = regexp.MustCompile(`<a href="/staff/people/([^"]+)">`)
	nextRE      = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)

// A search that matches more than a page says how many matched and pages
// through them all, once each; filters by year, registration group and
// status narrow it.
func TestPeopleSearchPagesAndFilters(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		for i := range 62 {
			year, reg := "9", "9K"
			if i%2 == 1 {
				year, reg = "10", "10M"
			}
			a := directory.Account{Username: fmt.Sprintf("24kid%02d", i), Role: directory.RolePupil, Source: directory.SourceManual,
				GivenName: "Kid", FamilyName: fmt.Sprintf("Number%02d", i), YearGroup: year, RegGroup: reg}
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			if i == 3 {
				if _, err := tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error {
					x.Status, x.DisabledAt, x.DisableReason = directory.StatusDisabled, time.Now(), "left"
					return nil
				}); err != nil {
					return err
				}
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "kids"})
	})
	if err != nil {
		t.Fatal(err)
	}
	b := mustSignIn(t, srv, portaltest.Technician)
	p := b.get("/staff/people?q=kid")
	if !strings.Contains(p.body, "Showing 1–50 of 62 people") {
		t.Errorf("first page does not say how many matched: %s", p.body)
	}
	seen := map[string]bool{}
	path := "/staff/people?q=kid"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		p := b.get(path)
		for _, m := range peopleRowRE.FindAllStringSubmatch(p.body, -1) {
			if seen[m[1]] {
				t.Errorf("%s listed twice", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := nextRE.FindStringSubmatch(p.body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if len(seen) != 62 {
		t.Errorf("paged through %d people, want 62", len(seen))
	}
	count := func(q string) int {
		t.Helper()
		p := b.get("/staff/people?" + q)
		if p.status != 200 {
			t.Fatalf("%s: %d", q, p.status)
		}
		return len(peopleRowRE.FindAllStringSubmatch(p.body, -1))
	}
	for q, want := range map[string]int{
		"year=10":                       31,
		"reg=9k":                        31,
		"year=10&status=active":         30,
		"q=kid&status=disabled":         1,
		"q=number0&year=9":              5, // Number00, 02, 04, 06, 08
		"year=9&reg=10M":                0,
		"q=kid&status=nonsense&year=10": 31, // an unknown status does not filter
	} {
		if got := count(q); got != want {
			t.Errorf("%s: %d people, want %d", q, got, want)
		}
	}
	if p := b.get("/staff/people?year=10&status=active"); !strings.Contains(p.body, "30 people match") || strings.Contains(p.body, `rel="next"`) {
		t.Errorf("one page of results: %s", p.body)
	}
}

// After signing the AUP, a pupil whose parent or carer has not given
// permission is told what to do and whom to ask, not only that permission
// is missing.
func TestConsentMissingSaysWhatToDo(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	hash, err := srv.Directory.Hasher().Hash(portaltest.Password)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		a := directory.Account{Username: "26noconsent", Role: directory.RolePupil, Source: directory.SourceManual,
			GivenName: "Nia", FamilyName: "Noform", YearGroup: "7", RegGroup: "7B"}
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: hash, CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "account:26noconsent"})
	})
	if err != nil {
		t.Fatal(err)
	}
	b := mustSignIn(t, srv, "26noconsent")
	p := b.get("/aup")
	m := hiddenRE.FindAllStringSubmatch(p.body, -1)
	if len(m) != 2 {
		t.Fatalf("AUP page: %s", p.body)
	}
	if p := b.post("/aup", url.Values{"document": {m[0][2]}, "digest": {m[1][2]}, "agree": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign: %d", p.status)
	}
	for _, path := range []string{"/aup?signed=1", "/", "/wifi"} {
		body := b.get(path).body
		i := strings.Index(body, `id="consent-needed"`)
		if i < 0 {
			t.Errorf("%s: no instructions about consent: %s", path, body)
			continue
		}
		box := body[i:]
		box = box[:strings.Index(box, "</div>")]
		for _, want := range []string{"parent or carer", "permission form", "form tutor or the IT office", "hand the signed form to the IT office"} {
			if !strings.Contains(box, want) {
				t.Errorf("%s: the consent notice does not say %q: %s", path, want, box)
			}
		}
	}
	// A pupil whose consent is recorded is not told to bring a form.
	pb := mustSignIn(t, srv, portaltest.Pupil)
	if body := pb.get("/").body; strings.Contains(body, "consent-needed") {
		t.Errorf("consent notice for a pupil with consent")
	}
}

var (
	exampleRE   = regexp.MustCompile(`like <code>([^<]+)</code>`)
	suggestedRE = regexp.MustCompile(`<code class="secret" id="suggested">([^<]+)</code>`)
)

// Every password the portal suggests, in its advice and from its "Suggest
// a password" button, passes the person's own policy: the staff policy's
// ban on double letters included. A suggestion is shown once and kept
// nowhere.
func TestPasswordSuggestionsPassOwnPolicy(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	staff := srv.Directory.Policy(srv.Accounts[portaltest.Teacher])
	if !staff.NoRepeats {
		t.Fatal("the test expects the staff policy to refuse double letters")
	}
	for _, user := range []string{portaltest.Teacher, portaltest.Pupil} {
		a := srv.Accounts[user]
		pol := srv.Directory.Policy(a)
		who := passwords.Person{Username: a.Username, GivenName: a.GivenName, FamilyName: a.FamilyName}
		b := mustSignIn(t, srv, user)
		var last string
		for range 15 {
			p := b.get("/password")
			m := exampleRE.FindStringSubmatch(p.body)
			if m == nil {
				t.Fatalf("%s: the advice gives no example: %s", user, p.body)
			}
			if vs := pol.Check(html.UnescapeString(m[1]), who); len(vs) > 0 {
				t.Errorf("%s: the advice's example %q breaks the %s policy: %v", user, m[1], pol.Name, vs)
			}
			if wants := strings.Contains(p.body, "no letter twice in a row"); wants != pol.NoRepeats {
				t.Errorf("%s: advice mentions double letters: %v; policy refuses them: %v", user, wants, pol.NoRepeats)
			}
			p = b.post("/password/suggest", nil)
			m = suggestedRE.FindStringSubmatch(p.body)
			if p.status != 200 || m == nil {
				t.Fatalf("%s: suggest: %d %s", user, p.status, p.body)
			}
			last = html.UnescapeString(m[1])
			if vs, err := srv.Directory.CheckPassword(ctx, a, last); err != nil || len(vs) > 0 {
				t.Errorf("%s: suggestion %q refused: %v %v", user, last, vs, err)
			}
		}
		// The suggestion is accepted as the new password, and nothing kept
		// it before the person chose it.
		all, err := srv.Store.AuditEvents(ctx, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			if strings.Contains(string(e.After), last) || strings.Contains(string(e.Before), last) {
				t.Errorf("%s: the suggestion is in the audit trail: %+v", user, e)
			}
		}
		p := b.post("/password", url.Values{"current": {portaltest.Password}, "new": {last}, "confirm": {last}})
		if p.status != http.StatusSeeOther {
			t.Errorf("%s: changing to the suggestion: %d %s", user, p.status, p.body)
		}
	}
}

// Staff pages speak about the person in the third person, name who did
// what, and offer no paper AUP or consent for an account that has ended.
func TestStaffPagesWording(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	now := time.Now()
	var leaver directory.Account
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		leaver = directory.Account{Username: "20zleft", Role: directory.RolePupil, Source: directory.SourceMIS, MISID: "Z1",
			GivenName: "Zoe", FamilyName: "Left", YearGroup: "11", RegGroup: "11C", LeaveDate: now.AddDate(0, -1, 0)}
		if err := tx.CreateAccount(ctx, &leaver); err != nil {
			return err
		}
		var err error
		leaver, err = tx.UpdateAccount(ctx, leaver.ID, func(a *directory.Account) error {
			a.Status, a.DisabledAt, a.DisableReason = directory.StatusDisabled, now.AddDate(0, 0, -20), "left"
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.AddSuspension(ctx, &directory.Suspension{AccountID: leaver.ID, From: now.AddDate(0, -2, 0), Until: now.AddDate(0, -2, 7),
			Reason: "Incident", CreatedAt: now.AddDate(0, -2, 0), CreatedBy: "user:" + portaltest.Safeguarding,
			LiftedAt: now.AddDate(0, -2, 1), LiftedBy: "cli:root"}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "account:20zleft"})
	})
	if err != nil {
		t.Fatal(err)
	}
	b := mustSignIn(t, srv, portaltest.Technician)
	p := b.get("/staff/people/20zleft")
	for _, bad := range []string{"Your account", "you have left", "user:" + portaltest.Safeguarding, "cli:root", "Record a paper AUP", `action="/staff/people/20zleft/paper-aup"`, `action="/staff/people/20zleft/consent"`} {
		if strings.Contains(p.body, bad) {
			t.Errorf("leaver's page shows %q", bad)
		}
	}
	for _, want := range []string{"they have left the school", "Sam Safeguard (tsafe)", "root on the command line", "no policy to sign"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("leaver's page lacks %q", want)
		}
	}
	docs, _ := srv.Store.AUPDocuments(context.Background())
	var pupilDoc string
	for _, d := range docs {
		if d.Audience == "pupil" {
			pupilDoc = fmt.Sprint(d.ID)
		}
	}
	if p := b.post("/staff/people/20zleft/paper-aup", url.Values{"document": {pupilDoc}, "form_date": {now.Format("2006-01-02")}, "witness": {"Head"}}); p.status != 422 || !strings.Contains(p.body, "has ended") {
		t.Errorf("paper AUP for a leaver: %d", p.status)
	}
	if sigs, _ := srv.Store.Signatures(context.Background(), leaver.ID); len(sigs) != 0 {
		t.Errorf("a leaver's paper AUP was recorded: %+v", sigs)
	}
	// The sync page names who ran each job.
	lsrv := portaltest.Start(t, portaltest.Options{Services: portal.Services{Lifecycle: &fakeLifecycle{}}})
	err = lsrv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		run := directory.SyncRun{Kind: "sync", StartedAt: now, FinishedAt: now, Applied: true, Actor: "user:" + portaltest.Technician}
		if err := tx.AddSyncRun(ctx, &run); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.run", Target: "job:sync"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := mustSignIn(t, lsrv, portaltest.Technician).get("/staff/sync"); !strings.Contains(p.body, "Tess Technician (ttech)") || strings.Contains(p.body, "user:ttech") {
		t.Errorf("sync runs do not name who ran them: %s", p.body)
	}
	// An active pupil's page still offers both forms, in staff words.
	p = b.get("/staff/people/" + portaltest.Pupil)
	if !strings.Contains(p.body, "Record a paper AUP") || !strings.Contains(p.body, "is not signed yet") || strings.Contains(p.body, "You need to") {
		t.Errorf("active pupil's page: %s", p.body)
	}
}

// The Passkeys page says what this portal's configuration requires of the
// person reading it, not a rule it may not have.
func TestPasskeysPageSaysWhatIsRequired(t *testing.T) {
	cases := []struct {
		roles []portal.StaffRole
		user  string
		want  string
	}{
		{nil, portaltest.Technician, "No one here must use a passkey"},
		{nil, portaltest.Pupil, "No one here must use a passkey"},
		{[]portal.StaffRole{portal.RoleTechnician}, portaltest.Technician, "You must use one: your staff pages as technician open only when you sign in with a passkey"},
		{[]portal.StaffRole{portal.RoleTechnician, portal.RoleAuditor}, portaltest.Teacher, "Staff with the technician and auditor roles must sign in with a passkey"},
		{[]portal.StaffRole{portal.RoleTechnician}, portaltest.Pupil, "A passkey is your choice"},
	}
	for _, c := range cases {
		srv := portaltest.Start(t, portaltest.Options{PasskeyRoles: c.roles})
		p := mustSignIn(t, srv, c.user).get("/passkeys")
		if !strings.Contains(p.body, c.want) {
			t.Errorf("roles %v, %s: page lacks %q", c.roles, c.user, c.want)
		}
		if strings.Contains(p.body, "Staff with extra powers must use one") {
			t.Errorf("roles %v, %s: the page states a rule of its own", c.roles, c.user)
		}
	}
}

// A guest slip names the school; a guest is offered no password change and
// no passkeys, and the pages refuse them.
func TestGuestSlipAndGuestPages(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	tech := mustSignIn(t, srv, portaltest.Technician)
	p := tech.post("/staff/guests", url.Values{"given": {"Vic"}, "family": {"Visitor"}, "sponsor": {"Tess Technician"}, "duration": {"4h"}})
	slip := p.body[strings.Index(p.body, `<div class="slip">`):]
	if !strings.Contains(slip, "Test School") {
		t.Errorf("the slip does not name the school: %s", slip)
	}
	got := map[string]string{}
	for _, m := range slipRE.FindAllStringSubmatch(p.body, -1) {
		got[m[1]] = m[2]
	}
	g := newBrowser(t, srv)
	if p := g.signIn(got["username"], got["login"]); p.status != http.StatusSeeOther {
		t.Fatalf("guest sign in: %d", p.status)
	}
	home := g.get("/").body
	for _, bad := range []string{`href="/password"`, `href="/passkeys"`, "Change your password"} {
		if strings.Contains(home, bad) {
			t.Errorf("a guest is offered %s", bad)
		}
	}
	if p := g.get("/password"); p.status != http.StatusForbidden || !strings.Contains(p.body, "Guest access") {
		t.Errorf("guest on /password: %d", p.status)
	}
	if p := g.post("/password/suggest", nil); p.status != http.StatusForbidden {
		t.Errorf("guest asks for a suggestion: %d", p.status)
	}
	if p := g.get("/passkeys"); p.status != http.StatusForbidden {
		t.Errorf("guest on /passkeys: %d", p.status)
	}
	if p := g.post("/passkeys/register/begin", url.Values{"name": {"Phone"}}); p.status != http.StatusForbidden {
		t.Errorf("guest adds a passkey: %d", p.status)
	}
}

// A failed submit marks the fields at fault aria-invalid, ties them to the
// message and puts the focus on the first, without script.
func TestFailedSubmitMarksFields(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	tech := mustSignIn(t, srv, portaltest.Technician)
	field := func(body, id string) string {
		m := regexp.MustCompile(`<(?:input|select) id="` + id + `"[^>]*>`).FindString(body)
		return m
	}
	p := tech.post("/staff/guests", url.Values{"given": {"Vic"}, "family": {"Visitor"}, "duration": {"4h"}})
	if f := field(p.body, "sponsor"); !strings.Contains(f, `aria-invalid="true"`) || !strings.Contains(f, "autofocus") || !strings.Contains(f, `aria-describedby="form-error"`) {
		t.Errorf("guest form without a sponsor: %s", f)
	}
	if f := field(p.body, "given"); strings.Contains(f, "aria-invalid") {
		t.Errorf("a good field is marked: %s", f)
	}
	if !strings.Contains(p.body, `id="form-error"`) {
		t.Errorf("no message for the fields to point at")
	}
	p = tech.post("/password", url.Values{"current": {portaltest.Password}, "new": {"aa"}, "confirm": {"aa"}})
	if f := field(p.body, "new"); !strings.Contains(f, `aria-invalid="true"`) || !strings.Contains(f, `aria-describedby="form-error rules"`) || !strings.Contains(f, "autofocus") {
		t.Errorf("password breaking the rules: %s", f)
	}
	p = tech.post("/password", url.Values{"current": {portaltest.Password}, "new": {"Tiger-Comet-Maple-47"}, "confirm": {"Tiger-Comet-Maple-48"}})
	if f := field(p.body, "confirm"); !strings.Contains(f, `aria-invalid="true"`) || !strings.Contains(f, "autofocus") {
		t.Errorf("passwords that differ: %s", f)
	}
	safe := mustSignIn(t, srv, portaltest.Safeguarding)
	p = safe.post("/staff/people/"+portaltest.Pupil+"/suspend", url.Values{"reason": {"x"}, "until": {"not a date"}})
	if f := field(p.body, "until"); !strings.Contains(f, `aria-invalid="true"`) {
		t.Errorf("suspension with a bad date: %d %s", p.status, f)
	}
}
