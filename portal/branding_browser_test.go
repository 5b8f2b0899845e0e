package portal_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/branding"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestBrowserSchoolBranding: in Chromium, under the portal's
// Content-Security-Policy, a north technician's page takes north's accent
// (the page's --accent and the header's rule) from the served stylesheet and shows
// north's logo; the sign-in page the trust's accent.
func TestBrowserSchoolBranding(t *testing.T) {
	ctx := context.Background()
	logo, err := branding.LoadLogo("../branding/testdata/north.png")
	if err != nil {
		t.Fatal(err)
	}
	srv := portaltest.Start(t, portaltest.Options{SchoolNames: map[string]string{"north": "Northgate Academy"},
		Branding: &branding.Set{Trust: branding.Brand{Accent: "#0f2a47"}, Schools: map[string]branding.Brand{"north": {Accent: "#7a1f5c", Logo: logo}}}})
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		a, err := tx.AccountByUsername(ctx, portaltest.Technician)
		if err != nil {
			return err
		}
		if _, err := tx.UpdateAccount(ctx, a.ID, func(a *directory.Account) error { a.School = "north"; return nil }); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "branding"})
	}); err != nil {
		t.Fatal(err)
	}
	bctx := newChromium(t, srv)
	eval := func(expr string) string {
		t.Helper()
		var out string
		if err := chromedp.Do(bctx, chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
			var err error
			out, err = chromedp.Evaluate[string](expr)(ctx, tt)
			return err
		})); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/signin"), chromedp.WaitReady(chromedp.CSS("main"))); err != nil {
		t.Fatal(err)
	}
	if got := eval(`getComputedStyle(document.querySelector("button")).backgroundColor`); got != "rgb(15, 42, 71)" {
		t.Errorf("sign-in button: %s, want the trust's #0f2a47", got)
	}
	if err := chromedp.Do(bctx, signInAction(srv, portaltest.Technician), chromedp.WaitVisible(chromedp.CSS("header img.logo"))); err != nil {
		t.Fatal(err)
	}
	if got := eval(`getComputedStyle(document.querySelector("header")).borderBottomColor`); got != "rgb(122, 31, 92)" {
		t.Errorf("north's header rule: %s, want #7a1f5c", got)
	}
	if got := eval(`getComputedStyle(document.querySelector("main")).getPropertyValue("--accent").trim()`); got != "#7a1f5c" {
		t.Errorf("north's accent on the page: %q, want #7a1f5c", got)
	}
	// The logo is loaded (naturalWidth) once complete; poll for the load
	// without timing it.
	var width string
	for range 50 {
		if width = eval(`(() => { const i = document.querySelector("header img.logo"); return i.complete ? String(i.naturalWidth) : "" })()`); width != "" {
			break
		}
		if err := chromedp.Do(bctx, chromedp.Sleep(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if width != "8" {
		t.Errorf("north's logo: natural width %q, want 8 (the test PNG)", width)
	}
}
