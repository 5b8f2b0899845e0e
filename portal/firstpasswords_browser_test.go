package portal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/portal/portaltest"
)

// TestBrowserFirstPasswords, in Chromium: the sign-in page says whom to
// ask about a forgotten password; a pupil signing in with a first password
// lands on the password page and chooses their own; a member of staff who
// signs in with a passkey sets a new password without the old one.
func TestBrowserFirstPasswords(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{FirstPasswords: portal.FirstPasswordSettings{Forgotten: "Forgotten your password? Ask your form tutor."}})
	ctx := newChromium(t, srv)
	if err := chromedp.Do(ctx, virtualAuthenticator()); err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	fp, err := srv.Directory.IssueFirstPassword(bg, "cli:root", srv.Accounts[portaltest.Pupil], 24*time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	const pupilPW = "Walrus-Teapot-Violin-58"
	var forgotten, notice, done string
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/signin"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		text(chromedp.ID("#forgotten"), &forgotten),
		chromedp.SendKeys(chromedp.ID("#username"), portaltest.Pupil),
		chromedp.SendKeys(chromedp.ID("#password"), fp.Password),
		chromedp.Submit(chromedp.ID("#password")),
		chromedp.WaitVisible(chromedp.ID("#new")),
		text(chromedp.CSS(".notice"), &notice),
		chromedp.SendKeys(chromedp.ID("#current"), fp.Password),
		chromedp.SendKeys(chromedp.ID("#new"), pupilPW),
		chromedp.SendKeys(chromedp.ID("#confirm"), pupilPW),
		chromedp.Submit(chromedp.ID("#confirm")),
		chromedp.WaitVisible(chromedp.CSS(".success")),
		text(chromedp.CSS(".success"), &done),
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.ID("#username")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(forgotten, "Ask your form tutor.") {
		t.Errorf("forgotten line: %q", forgotten)
	}
	if !strings.Contains(notice, "Choose your own new password now") || !strings.Contains(done, "password is changed") {
		t.Errorf("first sign-in: notice %q, then %q", notice, done)
	}
	if _, err := srv.Directory.Authenticate(bg, portaltest.Pupil, pupilPW, directory.ServiceLDAP, directory.Origin{}); err != nil {
		var refused *directory.RefusedError
		if !asRefusedPortal(err, &refused) || refused.Decision.Reason == directory.ReasonMustChange {
			t.Errorf("ldap after choosing a password: %v", err)
		}
	}

	const staffPW = "Granite-Lantern-Orbit-47"
	var passkeyNote, changed string
	err = chromedp.Do(ctx,
		signInAction(srv, portaltest.Teacher),
		chromedp.Navigate(srv.URL+"/passkeys"),
		chromedp.WaitVisible(chromedp.ID("#passkey-name")),
		chromedp.SendKeys(chromedp.ID("#passkey-name"), "Laptop"),
		chromedp.Click(chromedp.CSS("#passkey-add button")),
		chromedp.WaitVisible(chromedp.CSS(`.success`)),
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.ID("#passkey-signin")),
		chromedp.Click(chromedp.ID("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
		chromedp.Navigate(srv.URL+"/password"),
		chromedp.WaitVisible(chromedp.ID("#passkey-reset")),
		text(chromedp.ID("#passkey-reset"), &passkeyNote),
		chromedp.SendKeys(chromedp.ID("#new"), staffPW),
		chromedp.SendKeys(chromedp.ID("#confirm"), staffPW),
		chromedp.Submit(chromedp.ID("#confirm")),
		chromedp.WaitVisible(chromedp.CSS(".success")),
		text(chromedp.CSS(".success"), &changed),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(passkeyNote, "without your current one") || !strings.Contains(changed, "password is changed") {
		t.Errorf("passkey reset: %q, then %q", passkeyNote, changed)
	}
	if _, err := srv.Directory.Authenticate(bg, portaltest.Teacher, staffPW, directory.ServicePortal, directory.Origin{}); err != nil {
		t.Errorf("the password set after a passkey sign-in: %v", err)
	}
}

func asRefusedPortal(err error, r **directory.RefusedError) bool {
	x, ok := err.(*directory.RefusedError)
	*r = x
	return ok
}
