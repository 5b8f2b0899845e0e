package portal_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"keystage.dev/keystage/portal/portaltest"
)

// sessionRows counts the portal session rows in the store (every row
// expires within a day, so a purge as of tomorrow takes them all).
func sessionRows(t *testing.T, srv *portaltest.Server) int {
	t.Helper()
	n, err := srv.Store.PurgePortalSessions(t.Context(), time.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// 4,000 passkey sign-ins begun by someone not signed in, without cookies,
// from one address: nothing is written to the store, newcomers from that
// address are slowed to their bucket, and a browser the portal already
// knows, behind the same address, begins its sign-in at once.
func TestPasskeyBeginFloodWritesNothing(t *testing.T) {
	// The clock stands still, so that no bucket refills however long the
	// flood takes.
	frozen := time.Now()
	srv := portaltest.Start(t, portaltest.Options{Now: func() time.Time { return frozen }})
	known := newBrowser(t, srv)
	if p := known.post("/signin/passkey/begin", url.Values{}); p.status != http.StatusOK {
		t.Fatalf("first begin: %d %s", p.status, p.body)
	}
	rowsBefore := sessionRows(t, srv)

	flood := srv.Client()
	flood.Jar = nil // a script that keeps no cookies
	attacker := &browser{t: t, srv: srv, c: flood}
	var ok, limited int
	for range 4000 {
		switch p := attacker.post("/signin/passkey/begin", url.Values{}); p.status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("flood begin: %d %s", p.status, p.body)
		}
	}
	if rows := sessionRows(t, srv); rows != 0 || rowsBefore != 0 {
		t.Fatalf("session rows: %d before the flood, %d after; want none", rowsBefore, rows)
	}
	// 120 newcomers a minute per address, less the known browser's first.
	if ok != 119 || ok+limited != 4000 {
		t.Fatalf("flood: %d begun, %d refused; want 119 begun (newcomers per address per minute)", ok, limited)
	}
	if p := known.post("/signin/passkey/begin", url.Values{}); p.status != http.StatusOK {
		t.Fatalf("a known browser during the flood: %d %s", p.status, p.body)
	}
	// And a password sign-in from the same address is not slowed by it.
	mustSignIn(t, srv, portaltest.Teacher)
}

// A passkey sign-in's finish needs the sealed challenge its begin set, once:
// without it, with an altered one, or a second time, it is refused.
func TestPasskeyFinishNeedsItsBegin(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	b := newBrowser(t, srv)
	if p := b.post("/signin/passkey/finish", url.Values{}); p.status != http.StatusBadRequest {
		t.Fatalf("finish without begin: %d %s", p.status, p.body)
	}
	if p := b.post("/signin/passkey/begin", url.Values{}); p.status != http.StatusOK {
		t.Fatalf("begin: %d %s", p.status, p.body)
	}
	u, _ := url.Parse(srv.URL)
	var ceremony *http.Cookie
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "__Host-keystage-passkey" {
			ceremony = c
		}
	}
	if ceremony == nil {
		t.Fatal("begin set no ceremony cookie")
	}
	altered := *ceremony
	altered.Value = altered.Value[:len(altered.Value)-2] + "AA"
	for name, c := range map[string]*http.Cookie{"altered": &altered, "played again": ceremony} {
		other := newBrowser(t, srv)
		other.c.Jar.SetCookies(u, []*http.Cookie{c})
		if name == "played again" {
			// The first finish spends the challenge (the answer itself is
			// refused: there is no authenticator here).
			if p := other.post("/signin/passkey/finish", url.Values{}); p.status == http.StatusBadRequest {
				t.Fatalf("first finish with a good ceremony: %d %s", p.status, p.body)
			}
			other.c.Jar.SetCookies(u, []*http.Cookie{c})
		}
		if p := other.post("/signin/passkey/finish", url.Values{}); p.status != http.StatusBadRequest {
			t.Errorf("%s ceremony: %d %s, want 400", name, p.status, p.body)
		}
	}
}
