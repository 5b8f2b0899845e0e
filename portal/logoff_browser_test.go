package portal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"keystage.dev/keystage/portal/portaltest"
)

// In Chromium, a sign-in in shared-PC mode is a session cookie, which the
// browser forgets when it closes; otherwise it persists until the
// session's end.
func TestBrowserSharedPCSignInEndsWithTheBrowser(t *testing.T) {
	for _, shared := range []bool{false, true} {
		srv := portaltest.Start(t, portaltest.Options{SharedPC: shared})
		ctx := newChromium(t, srv)
		var cookies []*network.Cookie
		err := chromedp.Do(ctx,
			signInAction(srv, portaltest.Pupil),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/"}})
				if err == nil {
					cookies = res.Cookies
				}
				return err
			}),
		)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range cookies {
			if c.Name != "keystage" && c.Name != "__Host-keystage" {
				continue
			}
			found = true
			if c.Session != shared || (shared && c.Expires != -1) {
				t.Errorf("shared PC %v: Chromium holds the sign-in as session=%v, expires=%v", shared, c.Session, c.Expires)
			}
		}
		if !found {
			var names []string
			for _, c := range cookies {
				names = append(names, c.Name)
			}
			t.Errorf("shared PC %v: no sign-in cookie in Chromium (%s)", shared, strings.Join(names, ", "))
		}
	}
}
