package portal_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/portal/portaltest"
)

// browser is a test client signed in (or not) to one portal.
type browser struct {
	t   *testing.T
	srv *portaltest.Server
	c   *http.Client
}

func newBrowser(t *testing.T, srv *portaltest.Server) *browser {
	return &browser{t: t, srv: srv, c: srv.Client()}
}

type page struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, string(body), res.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, hdr ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

func (b *browser) signIn(user, pw string) page {
	b.t.Helper()
	return b.post("/signin", url.Values{"username": {user}, "password": {pw}})
}

func mustSignIn(t *testing.T, srv *portaltest.Server, user string) *browser {
	t.Helper()
	b := newBrowser(t, srv)
	p := b.signIn(user, portaltest.Password)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Fatalf("sign in %s: %d %s", user, p.status, p.body)
	}
	return b
}

func events(t *testing.T, s directory.Store, action string) []audit.Event {
	t.Helper()
	all, err := s.AuditEvents(context.Background(), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for _, e := range all {
		if string(e.Action) == action {
			out = append(out, e)
		}
	}
	return out
}

func TestHeadersAndCookie(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	b := newBrowser(t, srv)
	p := b.get("/signin")
	if p.status != 200 {
		t.Fatalf("sign-in page: %d", p.status)
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "Strict-Transport-Security": "max-age=31536000"} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if regexp.MustCompile(`<script>|\son[a-z]+=`).MatchString(p.body) {
		t.Errorf("inline script in the page")
	}
	res, err := b.c.PostForm(srv.URL+"/signin", url.Values{"username": {portaltest.Pupil}, "password": {portaltest.Password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var c *http.Cookie
	for _, x := range res.Cookies() {
		if x.Name == "__Host-keystage" {
			c = x
		}
	}
	if c == nil {
		t.Fatalf("no session cookie in %v", res.Header["Set-Cookie"])
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Expires.IsZero() {
		t.Errorf("cookie attributes: %+v", c)
	}
	// The store keeps only the token's hash.
	if _, err := srv.Store.PortalSession(context.Background(), c.Value, time.Now()); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("the raw token finds a session: %v", err)
	}
}

func TestSignInAndOut(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	b := newBrowser(t, srv)
	if p := b.get("/"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin" {
		t.Fatalf("signed-out home: %d %s", p.status, p.header.Get("Location"))
	}
	if p := b.signIn(portaltest.Pupil, "wrong"); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "do not match") {
		t.Fatalf("wrong password: %d", p.status)
	}
	if p := b.signIn("nobody", "wrong"); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "do not match") {
		t.Fatalf("unknown user must look the same: %d", p.status)
	}
	// The unsigned AUP does not keep the pupil out of the portal: this is
	// where it is signed.
	b = mustSignIn(t, srv, portaltest.Pupil)
	p := b.get("/")
	if p.status != 200 || !strings.Contains(p.body, "You need to sign the Acceptable Use Policy") {
		t.Fatalf("home: %d %s", p.status, p.body)
	}
	if n := len(events(t, srv.Store, "portal.signin")); n != 1 {
		t.Errorf("sign-in events: %d", n)
	}
	if p := b.post("/signout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("after sign-out the session still works: %d", p.status)
	}
}

// Failures in the portal count towards the lockout that LDAP and RADIUS
// share, by device cookie: a browser that has signed in before keeps
// working while a new one guesses; the new one is then refused even the
// right password, and so is LDAP from a new address.
func TestLockoutShared(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	own := mustSignIn(t, srv, portaltest.Teacher)
	own.post("/signout", nil)
	guesser := newBrowser(t, srv)
	for i := range 5 {
		guesser.signIn(portaltest.Teacher, fmt.Sprintf("nope-%d", i))
	}
	p := guesser.signIn(portaltest.Teacher, portaltest.Password)
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "new device") {
		t.Fatalf("a new browser after 5 failures: %d %s", p.status, p.body)
	}
	_, err := srv.Directory.Authenticate(context.Background(), portaltest.Teacher, portaltest.Password, directory.ServiceLDAP,
		directory.Origin{ID: "ldap:192.0.2.99"})
	var refused *directory.RefusedError
	if !errors.As(err, &refused) || refused.Decision.Reason != directory.ReasonNewDevicesLocked {
		t.Errorf("LDAP after portal failures: %v", err)
	}
	if p := own.signIn(portaltest.Teacher, portaltest.Password); p.status != http.StatusOK && p.status != http.StatusSeeOther {
		t.Errorf("the teacher's own browser: %d %s", p.status, p.body)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	b := mustSignIn(t, srv, portaltest.Pupil)
	for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		p := b.post("/wifi/renew", nil, hdr...)
		if p.status != http.StatusForbidden {
			t.Errorf("%v: %d, want 403", hdr, p.status)
		}
	}
	if n := len(events(t, srv.Store, "wifi.issue")); n != 0 {
		t.Errorf("a cross-site request changed something: %d events", n)
	}
	// The same request from the portal's own page goes through.
	if p := b.post("/wifi/renew", nil, "Sec-Fetch-Site", "same-origin", "Origin", srv.URL); p.status != 200 {
		t.Errorf("same-origin renew: %d", p.status)
	}
}

var hiddenRE = regexp.MustCompile(`name="(document|digest)" value="([^"]+)"`)

func TestSignAUP(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	pupil := srv.Accounts[portaltest.Pupil]
	if dec, _ := srv.Directory.Gate().Check(ctx, pupil, directory.ServiceLDAP, time.Now()); dec.Reason != directory.ReasonAUPUnsigned {
		t.Fatalf("before signing the gate says %q", dec.Reason)
	}
	b := mustSignIn(t, srv, portaltest.Pupil)
	p := b.get("/aup")
	if !strings.Contains(p.body, "<h3>Pupil AUP</h3>") {
		t.Errorf("Markdown not rendered: %s", p.body)
	}
	if strings.Contains(p.body, "<script>alert") || strings.Contains(p.body, "javascript:") {
		t.Errorf("raw HTML or a script link from the policy reached the page")
	}
	m := hiddenRE.FindAllStringSubmatch(p.body, -1)
	if len(m) != 2 {
		t.Fatalf("sign form fields: %v", m)
	}
	doc, digest := m[0][2], m[1][2]
	// Without the box ticked, or for a version not shown, nothing is signed.
	if p := b.post("/aup", url.Values{"document": {doc}, "digest": {digest}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("unticked: %d", p.status)
	}
	if p := b.post("/aup", url.Values{"document": {doc}, "digest": {"00" + digest[2:]}, "agree": {"yes"}}); p.status != http.StatusUnprocessableEntity {
		t.Errorf("stale digest: %d", p.status)
	}
	if sigs, _ := srv.Store.Signatures(ctx, pupil.ID); len(sigs) != 0 {
		t.Fatalf("signed by a refused form: %+v", sigs)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/aup", strings.NewReader(url.Values{"document": {doc}, "digest": {digest}, "agree": {"yes"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "PortalTest/1")
	if p := b.do(req); p.status != http.StatusSeeOther {
		t.Fatalf("sign: %d %s", p.status, p.body)
	}
	sigs, err := srv.Store.Signatures(ctx, pupil.ID)
	if err != nil || len(sigs) != 1 {
		t.Fatalf("signatures: %+v %v", sigs, err)
	}
	s := sigs[0]
	if s.Digest != digest || s.Method != directory.SignPortal || s.Address != "127.0.0.1" || s.UserAgent != "PortalTest/1" {
		t.Errorf("signature: %+v", s)
	}
	if ev := events(t, srv.Store, "aup.sign"); len(ev) != 1 || ev[0].Actor != "user:"+portaltest.Pupil || !strings.Contains(string(ev[0].After), digest) {
		t.Errorf("audit events: %+v", ev)
	}
	if dec, _ := srv.Directory.Gate().Check(ctx, pupil, directory.ServiceLDAP, time.Now()); !dec.Allow {
		t.Errorf("after signing the gate says %q", dec.Reason)
	}
	if p := b.get("/aup?signed=1"); !strings.Contains(p.body, "You signed this version") {
		t.Errorf("signed page: %s", p.body)
	}
}

var secretRE = regexp.MustCompile(`<code id="wifi-secret">([^<]+)</code>`)

func TestWiFi(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	b := mustSignIn(t, srv, portaltest.Teacher)
	p := b.get("/wifi")
	for _, want := range []string{"TestSchool", "PEAP/MSCHAPv2", "radius.test.example", "You have no Wi-Fi password yet"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("Wi-Fi page lacks %q", want)
		}
	}
	p = b.post("/wifi/renew", nil)
	m := secretRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		t.Fatalf("renew: %d %s", p.status, p.body)
	}
	first := m[1]
	teacher := srv.Accounts[portaltest.Teacher]
	if got, err := srv.Directory.WiFiSecret(ctx, teacher); err != nil || got != first {
		t.Fatalf("stored secret differs from the one shown: %v", err)
	}
	p = b.post("/wifi/renew", url.Values{"confirm": {"yes"}})
	second := secretRE.FindStringSubmatch(p.body)[1]
	if second == first {
		t.Fatal("renewal gave the same credential")
	}
	creds, _ := srv.Store.Credentials(ctx, teacher.ID, directory.CredWiFi)
	live := 0
	for _, c := range creds {
		if c.Live(time.Now()) {
			live++
		}
	}
	if len(creds) != 2 || live != 1 {
		t.Errorf("after renewal: %d credentials, %d live; the old one must stop", len(creds), live)
	}
	for _, e := range events(t, srv.Store, "wifi.issue") {
		if strings.Contains(string(e.After), first) || strings.Contains(string(e.After), second) {
			t.Error("a Wi-Fi secret is in the audit trail")
		}
	}
	// The teacher has not signed the staff AUP: the page says why the
	// Wi-Fi will refuse.
	if p := b.get("/wifi"); !strings.Contains(p.body, "Acceptable Use Policy") || !strings.Contains(p.body, second) {
		t.Errorf("Wi-Fi page after renewal: %s", p.body)
	}
}

func TestActivity(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	pupil := srv.Accounts[portaltest.Pupil]
	start := time.Now().Add(-2 * time.Hour)
	if err := srv.Store.PutSession(context.Background(), &directory.Session{AccountID: pupil.ID, Username: pupil.Username, NASName: "ap-library",
		NASAddress: "192.0.2.9", SessionID: "abc", CallingStation: "AA-BB-CC-00-11-22", StartedAt: start, UpdatedAt: start}); err != nil {
		t.Fatal(err)
	}
	b := mustSignIn(t, srv, portaltest.Pupil)
	p := b.get("/activity")
	for _, want := range []string{"ap-library", "AA-BB-CC-00-11-22", "still connected"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("activity lacks %q", want)
		}
	}
}

func TestChangePassword(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	b := mustSignIn(t, srv, portaltest.Teacher)
	other := mustSignIn(t, srv, portaltest.Teacher)
	p := b.get("/password")
	for _, code := range []string{"too-short", "classes", "repeated", "username", "name", "dictionary", "reused"} {
		if !strings.Contains(p.body, `data-code="`+code+`"`) {
			t.Errorf("staff checklist lacks rule %s", code)
		}
	}
	cases := []struct {
		name          string
		current, next string
		status        int
		want          []string
	}{
		{"wrong current", "nope", "Velvet-Canyon-Orbit-79", 422, []string{"current password is not right"}},
		{"mismatch", portaltest.Password, "Velvet-Canyon-Orbit-79", 422, []string{"different"}},
		{"too weak", portaltest.Password, "aa", 422, []string{`data-code="too-short" class="unmet"`, `data-code="repeated" class="unmet"`}},
		{"has name", portaltest.Password, "Tomato-Sauce-Pan-81", 422, []string{`data-code="name" class="unmet"`, `data-code="too-short" class="met"`}},
		{"reused", portaltest.Password, portaltest.Password, 422, []string{`data-code="reused" class="unmet"`}},
	}
	for _, tc := range cases {
		confirm := tc.next
		if tc.name == "mismatch" {
			confirm = tc.next + "x"
		}
		p := b.post("/password", url.Values{"current": {tc.current}, "new": {tc.next}, "confirm": {confirm}})
		if p.status != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, p.status, tc.status)
		}
		for _, w := range tc.want {
			if !strings.Contains(p.body, w) {
				t.Errorf("%s: page lacks %q", tc.name, w)
			}
		}
	}
	if n := len(events(t, srv.Store, "password.change")); n != 0 {
		t.Fatalf("a refused password was stored: %d events", n)
	}
	next := "Velvet-Canyon-Orbit-79"
	p = b.post("/password", url.Values{"current": {portaltest.Password}, "new": {next}, "confirm": {next}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", p.status, p.body)
	}
	if _, err := srv.Directory.Authenticate(context.Background(), portaltest.Teacher, next, directory.ServicePortal, directory.Origin{}); err != nil {
		t.Errorf("new password does not work: %v", err)
	}
	if p := other.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("the other session survived the change: %d", p.status)
	}
	if p := b.get("/"); p.status != 200 {
		t.Errorf("the changing session ended: %d", p.status)
	}
}

func TestStaffRoles(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	pupil := mustSignIn(t, srv, portaltest.Pupil)
	tech := mustSignIn(t, srv, portaltest.Technician)
	auditor := mustSignIn(t, srv, portaltest.Auditor)
	cases := []struct {
		b    *browser
		path string
		want int
	}{
		{pupil, "/staff/people?q=t", 403},
		{auditor, "/staff/people?q=t", 403},
		{tech, "/staff/people?q=pupil", 200},
		{tech, "/staff/people/" + portaltest.Pupil, 200},
		{tech, "/staff/people/nobody", 404},
		{tech, "/staff/guests", 200},
		{pupil, "/staff/guests", 403},
		// No lifecycle or export service: the pages do not exist.
		{tech, "/staff/sync", 404},
		{auditor, "/audit", 404},
	}
	for _, tc := range cases {
		if p := tc.b.get(tc.path); p.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.path, p.status, tc.want)
		}
	}
	if p := tech.get("/staff/people/" + portaltest.Pupil); !strings.Contains(p.body, "Pat Pupil") || strings.Contains(p.body, "$argon2id") {
		t.Errorf("person page: consent missing or a hash shown")
	}
	if n := len(events(t, srv.Store, "portal.view")); n != 2 {
		t.Errorf("views recorded: %d, want 2", n)
	}
	// A technician may not suspend: that is safeguarding's.
	if p := tech.post("/staff/people/"+portaltest.Pupil+"/suspend", url.Values{"reason": {"x"}}); p.status != 403 {
		t.Errorf("technician suspends: %d", p.status)
	}
}

func TestPasskeyRequiredForStaff(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{PasskeyRoles: []portal.StaffRole{portal.RoleTechnician}})
	tech := mustSignIn(t, srv, portaltest.Technician)
	p := tech.get("/staff/people")
	if p.status != 403 || !strings.Contains(p.body, "passkey") {
		t.Errorf("password session on a passkey-only page: %d", p.status)
	}
	// The person can still reach their own pages, to add a passkey.
	if p := tech.get("/passkeys"); p.status != 200 {
		t.Errorf("passkeys page: %d", p.status)
	}
}

func TestSuspendAndLift(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	pupil := srv.Accounts[portaltest.Pupil]
	var ended []string
	srv.Directory.OnAccessEnded(func(_ context.Context, a directory.Account) { ended = append(ended, a.Username) })
	safe := mustSignIn(t, srv, portaltest.Safeguarding)
	path := "/staff/people/" + portaltest.Pupil
	if p := safe.post(path+"/suspend", url.Values{"reason": {""}}); p.status != 422 {
		t.Errorf("no reason: %d", p.status)
	}
	if p := safe.post(path+"/suspend", url.Values{"reason": {"x"}, "until": {"2001-01-01"}}); p.status != 422 {
		t.Errorf("end in the past: %d", p.status)
	}
	until := time.Now().Add(72 * time.Hour).Format("2006-01-02T15:04")
	if p := safe.post(path+"/suspend", url.Values{"reason": {"Misuse of chat"}, "incident": {"INC-7"}, "until": {until}}); p.status != http.StatusSeeOther {
		t.Fatalf("suspend: %d", p.status)
	}
	if len(ended) != 1 || ended[0] != portaltest.Pupil {
		t.Errorf("access-ended hooks: %v", ended)
	}
	susp, _ := srv.Store.Suspensions(ctx, pupil.ID)
	if len(susp) != 1 || susp[0].Reason != "Misuse of chat" || susp[0].CreatedBy != "user:"+portaltest.Safeguarding || !susp[0].ActiveAt(time.Now()) {
		t.Fatalf("suspension: %+v", susp)
	}
	if dec, _ := srv.Directory.Gate().Check(ctx, pupil, directory.ServiceLDAP, time.Now()); dec.Reason != directory.ReasonSuspended {
		t.Errorf("gate after suspension: %q", dec.Reason)
	}
	p := safe.get(path + "?done=suspended")
	if !strings.Contains(p.body, "Lift this suspension") {
		t.Fatalf("no lift button")
	}
	if p := safe.post(path+"/lift", url.Values{"suspension": {fmt.Sprint(susp[0].ID)}}); p.status != http.StatusSeeOther {
		t.Fatalf("lift: %d", p.status)
	}
	susp, _ = srv.Store.Suspensions(ctx, pupil.ID)
	if susp[0].ActiveAt(time.Now()) || susp[0].LiftedBy != "user:"+portaltest.Safeguarding {
		t.Errorf("after lift: %+v", susp[0])
	}
	adds := events(t, srv.Store, "suspension.add")
	if len(adds) != 1 || len(events(t, srv.Store, "suspension.lift")) != 1 {
		t.Fatalf("suspension events missing")
	}
	// The add names the suspension that the lift names, for the register
	// rebuilt from the trail.
	if !strings.Contains(string(adds[0].After), fmt.Sprintf(`"suspension_id":%d`, susp[0].ID)) {
		t.Errorf("suspension.add does not carry its id: %s", adds[0].After)
	}
}

func TestPaperAUPAndConsent(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	tech := mustSignIn(t, srv, portaltest.Technician)
	path := "/staff/people/" + portaltest.Teacher
	p := tech.get(path)
	m := regexp.MustCompile(`<option value="(\d+)">staff`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no staff policy to record: %s", p.body)
	}
	yesterday := time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	if p := tech.post(path+"/paper-aup", url.Values{"document": {m[1]}, "form_date": {yesterday}}); p.status != 422 {
		t.Errorf("no witness: %d", p.status)
	}
	if p := tech.post(path+"/paper-aup", url.Values{"document": {m[1]}, "form_date": {yesterday}, "witness": {"Mrs Head"}}); p.status != http.StatusSeeOther {
		t.Fatalf("paper AUP: %d", p.status)
	}
	teacher := srv.Accounts[portaltest.Teacher]
	sigs, _ := srv.Store.Signatures(ctx, teacher.ID)
	if len(sigs) != 1 || sigs[0].Method != directory.SignPaper || sigs[0].Witness != "Mrs Head" || sigs[0].RecordedBy != "user:"+portaltest.Technician {
		t.Errorf("paper signature: %+v", sigs)
	}
	if p := tech.post(path+"/consent", url.Values{"parent": {"A"}, "relationship": {"father"}, "given": {yesterday}}); p.status != 422 {
		t.Errorf("consent for a member of staff: %d", p.status)
	}
	pp := "/staff/people/" + portaltest.Pupil + "/consent"
	if p := tech.post(pp, url.Values{"parent": {"Chris Pupil"}, "relationship": {"father"}, "given": {yesterday}}); p.status != http.StatusSeeOther {
		t.Fatalf("consent: %d", p.status)
	}
	cs, _ := srv.Store.Consents(ctx, srv.Accounts[portaltest.Pupil].ID)
	if len(cs) != 2 || cs[0].DocumentID == 0 {
		t.Errorf("consents: %+v", cs)
	}
}

var slipRE = regexp.MustCompile(`<code id="guest-(username|login|wifi)">([^<]+)</code>`)

func TestGuest(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	tech := mustSignIn(t, srv, portaltest.Technician)
	if p := tech.post("/staff/guests", url.Values{"given": {"Vic"}, "family": {"Visitor"}, "sponsor": {"Tess"}, "duration": {"999h"}}); p.status != 422 {
		t.Errorf("bad duration: %d", p.status)
	}
	p := tech.post("/staff/guests", url.Values{"given": {"Vic"}, "family": {"Visitor"}, "sponsor": {"Tess Technician"}, "duration": {"8h"}})
	got := map[string]string{}
	for _, m := range slipRE.FindAllStringSubmatch(p.body, -1) {
		got[m[1]] = m[2]
	}
	if p.status != 200 || len(got) != 3 {
		t.Fatalf("slip: %d %v", p.status, got)
	}
	g, err := srv.Store.AccountByUsername(ctx, got["username"])
	if err != nil || g.Role != directory.RoleGuest || g.LeaveDate.IsZero() {
		t.Fatalf("guest account: %+v %v", g, err)
	}
	if s, err := srv.Directory.WiFiSecret(ctx, g); err != nil || s != got["wifi"] {
		t.Errorf("guest Wi-Fi credential: %v", err)
	}
	ev := events(t, srv.Store, "guest.create")
	if len(ev) != 1 || !strings.Contains(string(ev[0].After), "Tess Technician") || strings.Contains(string(ev[0].After), got["wifi"]) {
		t.Errorf("guest event: %+v", ev)
	}
	// Until the guest accepts the community AUP, the Wi-Fi is closed.
	if dec, _ := srv.Directory.Gate().Check(ctx, g, directory.ServiceWiFi, time.Now()); dec.Reason != directory.ReasonAUPUnsigned || dec.Audience != "community" {
		t.Errorf("guest gate before signing: %+v", dec)
	}
	gb := newBrowser(t, srv)
	if p := gb.signIn(got["username"], got["login"]); p.status != http.StatusSeeOther {
		t.Fatalf("guest sign in: %d", p.status)
	}
	p = gb.get("/aup")
	m := hiddenRE.FindAllStringSubmatch(p.body, -1)
	if len(m) != 2 || !strings.Contains(p.body, "Community AUP") {
		t.Fatalf("guest AUP page: %s", p.body)
	}
	gb.post("/aup", url.Values{"document": {m[0][2]}, "digest": {m[1][2]}, "agree": {"yes"}})
	if dec, _ := srv.Directory.Gate().Check(ctx, g, directory.ServiceWiFi, time.Now()); !dec.Allow {
		t.Errorf("guest gate after signing: %+v", dec)
	}
}

// fakeLifecycle stands for the lifecycle package in these tests: it plans
// one change and applies it once.
type fakeLifecycle struct{ applied []string }

func (f *fakeLifecycle) Plan(ctx context.Context, job string) (portal.Plan, error) {
	return portal.Plan{ID: "plan-" + job, Job: job, MadeAt: time.Now(), Summary: []portal.Count{{"create", 1}},
		Lines: []portal.PlanLine{{Action: "create", Username: "26newstarter", Detail: "Year 7"}}}, nil
}

func (f *fakeLifecycle) Apply(ctx context.Context, actor, id string) (portal.Applied, error) {
	if id != "plan-sync" && id != "plan-leavers" {
		return portal.Applied{}, errors.New("unknown plan")
	}
	f.applied = append(f.applied, actor+" "+id)
	return portal.Applied{Summary: []portal.Count{{"created", 1}}}, nil
}

type fakeExports struct{}

func (fakeExports) Register(ctx context.Context, w io.Writer, asOf time.Time) error {
	_, err := fmt.Fprintf(w, "username,as_of\n26apupil,%s\n", asOf.Format(time.DateOnly))
	return err
}

func (fakeExports) Events(ctx context.Context, w io.Writer) error {
	_, err := io.WriteString(w, "{}\n")
	return err
}

func TestSyncAndExportsWired(t *testing.T) {
	lc := &fakeLifecycle{}
	srv := portaltest.Start(t, portaltest.Options{Services: portal.Services{Lifecycle: lc, Exports: fakeExports{}}})
	tech := mustSignIn(t, srv, portaltest.Technician)
	p := tech.post("/staff/sync/plan", url.Values{"job": {"sync"}})
	if p.status != 200 || !strings.Contains(p.body, "26newstarter") || !strings.Contains(p.body, `value="plan-sync"`) {
		t.Fatalf("plan: %d %s", p.status, p.body)
	}
	if p := tech.post("/staff/sync/apply", url.Values{"plan": {"plan-sync"}}); p.status != 422 || len(lc.applied) != 0 {
		t.Errorf("apply without confirming: %d %v", p.status, lc.applied)
	}
	if p := tech.post("/staff/sync/apply", url.Values{"plan": {"plan-sync"}, "confirm": {"yes"}}); p.status != 200 || len(lc.applied) != 1 || lc.applied[0] != "user:ttech plan-sync" {
		t.Errorf("apply: %d %v", p.status, lc.applied)
	}
	// The sync's refusal queue is on show until an export fixes it.
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		if err := tx.ReplaceSyncRefusals(ctx, []directory.SyncRefusal{{MISID: "P77", File: "users.csv", Line: 14, Reason: "no name",
			FirstSeen: time.Now(), LastSeen: time.Now()}}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "sync", Action: "sync.apply", Target: "job:sync"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := tech.get("/staff/sync"); p.status != 200 || !strings.Contains(p.body, "users.csv line 14") || !strings.Contains(p.body, "no name") {
		t.Errorf("refusal queue not shown: %d %s", p.status, p.body)
	}
	auditor := mustSignIn(t, srv, portaltest.Auditor)
	if p := auditor.get("/staff/sync"); p.status != 403 {
		t.Errorf("auditor on the sync page: %d", p.status)
	}
	p = auditor.post("/audit/register", url.Values{"as_of": {"2026-01-31"}})
	if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/csv") || !strings.Contains(p.body, "26apupil,2026-01-31") {
		t.Errorf("register: %d %q %s", p.status, p.header.Get("Content-Type"), p.body)
	}
	if p := auditor.post("/audit/register", url.Values{"as_of": {"2999-01-01"}}); p.status != 422 {
		t.Errorf("register in the future: %d", p.status)
	}
	if n := len(events(t, srv.Store, "export.register")); n != 1 {
		t.Errorf("register downloads recorded: %d", n)
	}
}

func TestConfigProblems(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	for _, tc := range []struct {
		url  string
		want string
	}{
		{"", "public URL is not set"},
		{"ftp://x", "want https"},
		{"http://portal.school.example", "plain http is only for localhost"},
		{"https://127.0.0.1:8443", "not an IP address"},
	} {
		_, err := portal.New(srv.Directory.Store(), srv.Directory, portal.Config{PublicURL: tc.url, RoleGroups: map[portal.StaffRole][]string{"boss": {"x"}}}, portal.Services{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "unknown staff role") {
			t.Errorf("%q: %v", tc.url, err)
		}
	}
}

// clock is a fake clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestSessionEndsAtExpiryAndOnDisable(t *testing.T) {
	clk := &clock{t: time.Now()}
	srv := portaltest.Start(t, portaltest.Options{Now: clk.now})
	b := mustSignIn(t, srv, portaltest.Pupil)
	clk.add(7 * time.Hour)
	if p := b.get("/"); p.status != 200 {
		t.Fatalf("within the lifetime: %d", p.status)
	}
	clk.add(2 * time.Hour)
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("after 9 hours the 8-hour session still works: %d", p.status)
	}
	b = mustSignIn(t, srv, portaltest.Teacher)
	teacher := srv.Accounts[portaltest.Teacher]
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		if _, err := tx.UpdateAccount(ctx, teacher.ID, func(a *directory.Account) error {
			a.Status, a.DisabledAt, a.DisableReason = directory.StatusDisabled, clk.now(), "left"
			return nil
		}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "account.disable", Target: "account:" + teacher.Username})
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := b.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("a disabled account's session still works: %d", p.status)
	}
	if p := newBrowser(t, srv).signIn(portaltest.Teacher, portaltest.Password); p.status != http.StatusForbidden || !strings.Contains(p.body, "disabled") {
		t.Errorf("disabled account signs in: %d", p.status)
	}
}

// Renaming and removing a passkey touch only the person's own, and a
// removed one is revoked, not deleted.
func TestPasskeyRenameRemove(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	add := func(user, name string) directory.Credential {
		c := directory.Credential{AccountID: srv.Accounts[user].ID, Kind: directory.CredPasskey, Name: name, Secret: `{"id":"AQID","publicKey":"BAUG"}`, CreatedAt: time.Now()}
		err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if err := tx.AddCredential(ctx, &c); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "passkey.add", Target: "account:" + user})
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mine := add(portaltest.Teacher, "Phone")
	theirs := add(portaltest.Pupil, "Tablet")
	b := mustSignIn(t, srv, portaltest.Teacher)
	if p := b.get("/passkeys"); !strings.Contains(p.body, "Phone") || strings.Contains(p.body, "Tablet") {
		t.Fatalf("passkeys page shows the wrong keys")
	}
	b.post(fmt.Sprintf("/passkeys/%d/rename", mine.ID), url.Values{"name": {"  Work\x00 phone  "}})
	b.post(fmt.Sprintf("/passkeys/%d/rename", theirs.ID), url.Values{"name": {"Mine now"}})
	b.post(fmt.Sprintf("/passkeys/%d/remove", theirs.ID), url.Values{"confirm": {"yes"}})
	keys, _ := srv.Store.Credentials(ctx, srv.Accounts[portaltest.Teacher].ID, directory.CredPasskey)
	if len(keys) != 1 || keys[0].Name != "Work phone" {
		t.Errorf("after rename: %+v", keys)
	}
	other, _ := srv.Store.Credentials(ctx, srv.Accounts[portaltest.Pupil].ID, directory.CredPasskey)
	if other[0].Name != "Tablet" || !other[0].RevokedAt.IsZero() {
		t.Errorf("another person's passkey was changed: %+v", other[0])
	}
	if p := b.post(fmt.Sprintf("/passkeys/%d/remove", mine.ID), url.Values{"confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", p.status)
	}
	keys, _ = srv.Store.Credentials(ctx, srv.Accounts[portaltest.Teacher].ID, directory.CredPasskey)
	if len(keys) != 1 || keys[0].RevokedAt.IsZero() {
		t.Errorf("after remove: %+v", keys)
	}
	if p := b.get("/passkeys"); strings.Contains(p.body, "Work phone") {
		t.Errorf("a removed passkey is still listed")
	}
	if n := len(events(t, srv.Store, "passkey.rename")) + len(events(t, srv.Store, "passkey.remove")); n != 2 {
		t.Errorf("passkey events: %d, want 2", n)
	}
}

// A passkey outlives the session, so adding one needs a recent sign-in.
func TestPasskeyNeedsRecentSignIn(t *testing.T) {
	clk := &clock{t: time.Now()}
	srv := portaltest.Start(t, portaltest.Options{Now: clk.now})
	b := mustSignIn(t, srv, portaltest.Teacher)
	if p := b.post("/passkeys/register/begin", url.Values{"name": {"Phone"}}); p.status != 200 || !strings.Contains(p.body, `"challenge"`) {
		t.Fatalf("fresh session: %d %s", p.status, p.body)
	}
	if p := b.post("/passkeys/register/begin", url.Values{"name": {""}}); p.status != 422 {
		t.Errorf("no name: %d", p.status)
	}
	clk.add(20 * time.Minute)
	if p := b.post("/passkeys/register/begin", url.Values{"name": {"Phone"}}); p.status != 403 || !strings.Contains(p.body, "sign in again") {
		t.Errorf("20-minute-old session: %d %s", p.status, p.body)
	}
	// A finish that carries no credential is refused.
	if p := b.post("/passkeys/register/finish", nil); p.status != 400 {
		t.Errorf("finish without begin: %d", p.status)
	}
}

// TestTrustedProxyNamesTheClient: behind a configured proxy, a client
// guessing without cookies is blocked by its own address, not the
// proxy's, so the rest of the school keeps signing in; a header from
// anyone but the proxy is not believed.
func TestTrustedProxyNamesTheClient(t *testing.T) {
	for _, proxy := range []bool{true, false} {
		srv := portaltest.Start(t, portaltest.Options{Proxy: proxy})
		for i := range 10 {
			// A script that drops its cookies: a new browser each time.
			newBrowser(t, srv).post("/signin", url.Values{"username": {fmt.Sprintf("nobody%d", i)}, "password": {"x"}},
				"X-Forwarded-For", "203.0.113.66")
		}
		blocked := newBrowser(t, srv).post("/signin", url.Values{"username": {portaltest.Pupil}, "password": {portaltest.Password}},
			"X-Forwarded-For", "203.0.113.66")
		other := newBrowser(t, srv).post("/signin", url.Values{"username": {portaltest.Pupil}, "password": {portaltest.Password}},
			"X-Forwarded-For", "203.0.113.7")
		if !strings.Contains(blocked.body, "this device or computer") {
			t.Errorf("proxy=%v: the guessing client: %d %s", proxy, blocked.status, blocked.body)
		}
		switch {
		case proxy && other.status != http.StatusSeeOther:
			t.Errorf("behind the proxy, another client: %d %s", other.status, other.body)
		case !proxy && other.status == http.StatusSeeOther:
			t.Errorf("without a trusted proxy, X-Forwarded-For was believed: another client signed in")
		}
	}
}
