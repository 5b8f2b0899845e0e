package portal_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/portal/portaltest"
)

// A sign-in ends after the idle time without a request; requests keep it.
func TestIdleSessionEnds(t *testing.T) {
	clk := &clock{t: time.Now()}
	srv := portaltest.Start(t, portaltest.Options{Now: clk.now, IdleTimeout: 30 * time.Minute})
	b := mustSignIn(t, srv, portaltest.Pupil)
	for range 4 {
		clk.add(25 * time.Minute)
		if p := b.get("/"); p.status != http.StatusOK {
			t.Fatalf("in use every 25 minutes, signed out: %d", p.status)
		}
	}
	clk.add(31 * time.Minute)
	p := b.get("/")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin" {
		t.Fatalf("idle 31 minutes, still signed in: %d", p.status)
	}
	if c := p.header.Get("Set-Cookie"); !strings.Contains(c, "Max-Age=0") {
		t.Errorf("the cookie is not cleared: %q", c)
	}
	// Signing in again works, and the old cookie's session is gone.
	b = mustSignIn(t, srv, portaltest.Pupil)
	if p := b.get("/"); p.status != http.StatusOK {
		t.Errorf("after signing in again: %d", p.status)
	}
}

// Shared-PC mode: the sign-in cookie is a session cookie, forgotten when
// the browser closes; outside it, the cookie lasts the session's lifetime.
func TestSharedPCSessionCookie(t *testing.T) {
	for _, shared := range []bool{false, true} {
		srv := portaltest.Start(t, portaltest.Options{SharedPC: shared})
		p := newBrowser(t, srv).signIn(portaltest.Pupil, portaltest.Password)
		if p.status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.status)
		}
		var cookie string
		for _, c := range p.header.Values("Set-Cookie") {
			if (strings.HasPrefix(c, "keystage=") || strings.HasPrefix(c, "__Host-keystage=")) && !strings.Contains(c, "Max-Age=0") {
				cookie = c
			}
		}
		persistent := strings.Contains(cookie, "Expires=") || strings.Contains(cookie, "Max-Age=")
		if cookie == "" || persistent == shared {
			t.Errorf("shared PC %v: sign-in cookie %q", shared, cookie)
		}
	}
}
