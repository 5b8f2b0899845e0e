package portal_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"keystage.dev/keystage/portal/portaltest"
)

// The portal's own cost per request, without TLS and the network: the
// security headers, the session lookup in SQLite, the account and its
// groups, and the template.

func BenchmarkSignInPage(b *testing.B) {
	srv := portaltest.Start(b, portaltest.Options{})
	req := httptest.NewRequest("GET", srv.URL+"/signin", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.Portal.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// sessionCookie signs in once and returns the cookie.
func sessionCookie(b *testing.B, srv *portaltest.Server, user string) *http.Cookie {
	form := url.Values{"username": {user}, "password": {portaltest.Password}}
	req := httptest.NewRequest("POST", srv.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	srv.Portal.ServeHTTP(w, req)
	for _, c := range w.Result().Cookies() {
		// The sign-in's cookie, not the browser's device cookie set beside it.
		if c.Value != "" && (c.Name == "keystage" || c.Name == "__Host-keystage") {
			return c
		}
	}
	b.Fatalf("no session: %d", w.Code)
	return nil
}

func benchPage(b *testing.B, user, path string) {
	srv := portaltest.Start(b, portaltest.Options{})
	c := sessionCookie(b, srv, user)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", srv.URL+path, nil)
		req.AddCookie(c)
		w := httptest.NewRecorder()
		srv.Portal.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// The home page asks the gate about the Wi-Fi, the heaviest read a person
// makes.
func BenchmarkHomeSignedIn(b *testing.B) { benchPage(b, portaltest.Pupil, "/") }

// The AUP page renders the policy from Markdown on each request.
func BenchmarkAUPPage(b *testing.B) { benchPage(b, portaltest.Pupil, "/aup") }

// A staff member's view of a person loads everything held and records the
// view in the audit trail (a write per request).
func BenchmarkPersonPage(b *testing.B) {
	benchPage(b, portaltest.Technician, "/staff/people/"+portaltest.Pupil)
}
