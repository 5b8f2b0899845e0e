package portal_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/portal/portaltest"
)

// chromium finds Debian's chromium. Without it the browser tests skip,
// except in CI, where they must run.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: .ci/run must install Debian's chromium package")
	}
	t.Skip("chromium is not installed: browser tests skipped (apt-get install chromium)")
	return ""
}

// spkiHash is what --ignore-certificate-errors-spki-list wants: the test
// server's own key, and nothing else, is trusted.
func spkiHash(t *testing.T, certPEM []byte) string {
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// newChromium starts a headless Chromium with a fresh profile for srv.
func newChromium(t *testing.T, srv *portaltest.Server) context.Context {
	t.Helper()
	exe := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 900),
	}
	if srv.CertPEM != nil {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", spkiHash(t, srv.CertPEM)))
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// shot saves a screenshot of the page into the directory named by
// PORTAL_SCREENSHOTS (the README's pictures: see the README's portal section).
func shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		dir := os.Getenv("PORTAL_SCREENSHOTS")
		if dir == "" {
			return nil
		}
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "portal-"+name+".png"), buf, 0o644)
	})
}

// text reads an element's text into *dst, as a step.
func text[S chromedp.Selectable](sel S, dst *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := chromedp.Text(sel)(ctx, t)
		*dst = v
		return err
	})
}

func attr[S chromedp.Selectable](sel S, name string, dst *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		v, err := chromedp.AttributeValue(sel, name)(ctx, t)
		*dst = v.Value
		return err
	})
}

// virtualAuthenticator gives the page a platform authenticator with
// resident keys and user verification that always succeeds.
func virtualAuthenticator() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
			Options: &cdpwebauthn.VirtualAuthenticatorOptions{
				Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
				Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
				IsUserVerified: true, AutomaticPresenceSimulation: true,
			}})
		return err
	})
}

func signInAction(srv *portaltest.Server, user string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(srv.URL+"/signin"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		chromedp.SendKeys(chromedp.ID("#username"), user),
		chromedp.SendKeys(chromedp.ID("#password"), portaltest.Password),
		chromedp.Submit(chromedp.ID("#password")),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
	)
}

// A pupil signs in, signs the AUP, gets a Wi-Fi credential and is then let
// onto the Wi-Fi. RADIUS is not in this tree yet, so the last step asks
// the directory what RADIUS will ask: the credential shown in the browser
// is the one held, and the gate allows the Wi-Fi.
func TestBrowserPupilSignsAUP(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := newChromium(t, srv)
	pupil := srv.Accounts[portaltest.Pupil]
	var home, secret, signed string
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/signin"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		shot("signin"),
		signInAction(srv, portaltest.Pupil),
		text(chromedp.CSS("main"), &home),
		shot("home"),
		chromedp.Navigate(srv.URL+"/aup"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="agree"]`)),
		shot("aup"),
		chromedp.Click(chromedp.CSS(`input[name="agree"]`)),
		chromedp.Click(chromedp.CSS(`form[action="/aup"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.success`)),
		text(chromedp.CSS(".success"), &signed),
		chromedp.Navigate(srv.URL+"/wifi"),
		chromedp.Click(chromedp.CSS(`form[action="/wifi/renew"] button`)),
		chromedp.WaitVisible(chromedp.ID("#wifi-secret")),
		text(chromedp.ID("#wifi-secret"), &secret),
		shot("wifi"),
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(srv.URL+"/wifi"),
		shot("wifi-phone"),
		chromedp.ResetViewport(),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(home, "You need to sign the Acceptable Use Policy") {
		t.Errorf("home before signing: %q", home)
	}
	if !strings.Contains(signed, "signature is recorded") {
		t.Errorf("after signing: %q", signed)
	}
	bg := context.Background()
	sigs, err := srv.Store.Signatures(bg, pupil.ID)
	if err != nil || len(sigs) != 1 || !strings.Contains(sigs[0].UserAgent, "Chrome") {
		t.Fatalf("signature from the browser: %+v %v", sigs, err)
	}
	held, err := srv.Directory.WiFiSecret(bg, pupil)
	if err != nil || held != secret || len(secret) < 8 {
		t.Fatalf("Wi-Fi credential shown %q, held %q (%v)", secret, held, err)
	}
	if dec, err := srv.Directory.Gate().Check(bg, pupil, directory.ServiceWiFi, time.Now()); err != nil || !dec.Allow {
		t.Errorf("Wi-Fi gate after signing: %+v %v", dec, err)
	}

	// The password checklist ticks rules as the pupil types.
	var cls string
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/password"),
		chromedp.WaitVisible(chromedp.ID("#new")),
		chromedp.SendKeys(chromedp.ID("#new"), "Amara-12"),
		attr(chromedp.CSS(`li[data-code="too-short"]`), "class", &cls),
		shot("password"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if cls != "met" {
		t.Errorf("length rule after 8 characters: class %q", cls)
	}
	var nameCls string
	if err := chromedp.Do(ctx, attr(chromedp.CSS(`li[data-code="name"]`), "class", &nameCls)); err != nil {
		t.Fatal(err)
	}
	if nameCls != "unmet" {
		t.Errorf("name rule with the pupil's name typed: class %q", nameCls)
	}
}

// A technician whose role needs a passkey registers one through Chromium's
// virtual authenticator, signs out, signs back in with it, and then runs
// a sync plan and applies it; an auditor downloads the register. The
// register is the real one over the test's directory; the sync is the
// test double of portal_test.go (the real MIS sync in the portal is driven
// end to end by cmd/keystage's TestPortalJobsPlanAndApply, which needs the
// command's wiring).
func TestBrowserPasskeyAndStaff(t *testing.T) {
	lc := &fakeLifecycle{}
	srv := portaltest.Start(t, portaltest.Options{
		PasskeyRoles: []portal.StaffRole{portal.RoleTechnician, portal.RoleAuditor},
		ServicesFor: func(d *directory.Directory) portal.Services {
			return portal.Services{Lifecycle: lc, Exports: directory.Exports{D: d}}
		},
	})
	ctx := newChromium(t, srv)
	err := chromedp.Do(ctx,
		virtualAuthenticator(),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The technician's role needs a passkey, so the first one needs an
	// enrolment code, issued here as from the server's command line.
	code, _, err := srv.Directory.IssuePasskeyEnrolment(context.Background(), "cli:root", srv.Accounts[portaltest.Technician])
	if err != nil {
		t.Fatal(err)
	}
	var refused, added, who string
	err = chromedp.Do(ctx,
		signInAction(srv, portaltest.Technician),
		chromedp.Navigate(srv.URL+"/staff/people"),
		text(chromedp.CSS("main"), &refused),
		chromedp.Navigate(srv.URL+"/passkeys"),
		chromedp.WaitVisible(chromedp.ID("#passkey-name")),
		chromedp.SendKeys(chromedp.ID("#passkey-name"), "Office laptop"),
		chromedp.SendKeys(chromedp.ID("#passkey-code"), code),
		chromedp.Click(chromedp.CSS("#passkey-add button")),
		chromedp.WaitVisible(chromedp.CSS(`.success`)),
		text(chromedp.CSS(".success"), &added),
		shot("passkeys"),
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.ID("#passkey-signin")),
		chromedp.Click(chromedp.ID("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
		text(chromedp.CSS(`form.signout span`), &who),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refused, "passkey") {
		t.Errorf("staff page with a password session: %q", refused)
	}
	if !strings.Contains(added, "passkey is set up") {
		t.Errorf("after adding: %q", added)
	}
	if !strings.Contains(who, portaltest.Technician) || !strings.Contains(who, "passkey") {
		t.Fatalf("after passkey sign-in: %q", who)
	}
	tech := srv.Accounts[portaltest.Technician]
	keys, _ := srv.Store.Credentials(context.Background(), tech.ID, directory.CredPasskey)
	if len(keys) != 1 || keys[0].Name != "Office laptop" || keys[0].LastUsed.IsZero() {
		t.Fatalf("stored passkey: %+v", keys)
	}

	var person, plan, applied string
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/staff/people?q=pupil"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/staff/people/`+portaltest.Pupil+`"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/staff/people/`+portaltest.Pupil+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/consent"]`)),
		text(chromedp.CSS("main"), &person),
		shot("person"),
		chromedp.Navigate(srv.URL+"/staff/sync"),
		chromedp.Click(chromedp.CSS(`form[action="/staff/sync/plan"] button`)),
		chromedp.WaitVisible(chromedp.ID(`#confirm`)),
		text(chromedp.CSS("main"), &plan),
		chromedp.Click(chromedp.ID(`#confirm`)),
		chromedp.Click(chromedp.CSS(`form[action="/staff/sync/apply"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.success`)),
		text(chromedp.CSS(".success"), &applied),
		chromedp.Navigate(srv.URL+"/staff/guests"),
		chromedp.SendKeys(chromedp.ID("#given"), "Vic"),
		chromedp.SendKeys(chromedp.ID("#family"), "Visitor"),
		chromedp.Submit(chromedp.ID("#given")),
		chromedp.WaitVisible(chromedp.ID("#guest-wifi")),
		shot("guest-slip"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(person, "Pat Pupil") {
		t.Errorf("person page: %q", person)
	}
	if !strings.Contains(plan, "26newstarter") || len(lc.applied) != 1 || !strings.Contains(applied, "created: 1") {
		t.Errorf("sync: plan %q applied %v %q", plan, lc.applied, applied)
	}

	// A removed passkey no longer signs in, though the authenticator still
	// offers it.
	var status string
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/passkeys"),
		chromedp.Click(chromedp.CSS(`form[action$="/remove"] button`)),
		chromedp.WaitVisible(chromedp.ID(`#confirm-yes`)),
		chromedp.Click(chromedp.ID(`#confirm-yes`)),
		chromedp.WaitVisible(chromedp.CSS(`.success`)),
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.ID("#passkey-signin")),
		chromedp.Click(chromedp.ID("#passkey-signin")),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`document.getElementById("passkey-status").textContent.includes("not accepted")`)(ctx, t)
			return err
		}),
		text(chromedp.ID("#passkey-status"), &status),
	)
	if err != nil {
		t.Fatalf("sign-in with a removed passkey: %v (status %q)", err, status)
	}

	// The auditor, in a fresh browser, adds a passkey with the enrolment
	// code a technician gave them, and downloads the register.
	acode, _, err := srv.Directory.IssuePasskeyEnrolment(context.Background(), "user:"+portaltest.Technician, srv.Accounts[portaltest.Auditor])
	if err != nil {
		t.Fatal(err)
	}
	actx := newChromium(t, srv)
	dl := t.TempDir()
	err = chromedp.Do(actx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl})
			return err
		}),
		virtualAuthenticator(),
		signInAction(srv, portaltest.Auditor),
		chromedp.Navigate(srv.URL+"/passkeys"),
		chromedp.WaitVisible(chromedp.ID("#passkey-name")),
		chromedp.SendKeys(chromedp.ID("#passkey-name"), "Audit key"),
		chromedp.SendKeys(chromedp.ID("#passkey-code"), acode),
		chromedp.Click(chromedp.CSS("#passkey-add button")),
		chromedp.WaitVisible(chromedp.CSS(`.success`)),
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.ID("#passkey-signin")),
		chromedp.Click(chromedp.ID("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
		chromedp.Navigate(srv.URL+"/audit"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/audit/register"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/audit/register"] button`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dl, "access-register-*.csv"))
		if len(files) == 1 {
			if got, _ = os.ReadFile(files[0]); len(got) > 0 {
				break
			}
		}
	}
	// The real register: the byte order mark that makes Excel read it as
	// UTF-8, its header, and the pupil's row with their state.
	if !strings.HasPrefix(string(got), "\ufeffName,Role,") || !strings.Contains(string(got), ","+portaltest.Pupil+",active,") {
		t.Errorf("downloaded register: %q", got)
	}
}

// a11yCheck is run on every page: the checks a screen-reader and keyboard
// user depends on that a script can make. It returns the problems found.
const a11yCheck = `(() => {
  const p = [];
  if (document.documentElement.lang !== "en-GB") p.push("lang is " + document.documentElement.lang);
  if (document.querySelectorAll("h1").length !== 1) p.push(document.querySelectorAll("h1").length + " h1 elements");
  if (!document.title) p.push("no title");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden" || el.closest("[hidden]")) continue;
    if (!el.labels || el.labels.length === 0) p.push("no label for " + (el.id || el.name));
  }
  for (const b of document.querySelectorAll("button, a")) {
    if (!(b.textContent.trim() || b.getAttribute("aria-label"))) p.push("unnamed " + b.tagName);
  }
  const ids = {};
  for (const el of document.querySelectorAll("[id]")) { if (ids[el.id]) p.push("duplicate id " + el.id); ids[el.id] = 1; }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) p.push("scrolls sideways: " + document.documentElement.scrollWidth + " > " + window.innerWidth);
  return p.join("; ");
})()`

// Every page a person or a technician sees passes a11yCheck on a phone's
// width, and the first Tab reaches the skip link.
func TestBrowserAccessible(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := newChromium(t, srv)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	check := func(path string) {
		t.Helper()
		var problems, focused string
		err := chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+path),
			chromedp.WaitReady(chromedp.CSS("main")),
			chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
				var err error
				problems, err = chromedp.Evaluate[string](a11yCheck)(ctx, tt)
				return err
			}),
			chromedp.KeyEvent("\t"),
			chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
				var err error
				focused, err = chromedp.Evaluate[string](`document.activeElement.className`)(ctx, tt)
				return err
			}),
		)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if problems != "" {
			t.Errorf("%s: %s", path, problems)
		}
		if focused != "skip" {
			t.Errorf("%s: first Tab focuses %q, not the skip link", path, focused)
		}
	}
	check("/signin")
	if err := chromedp.Do(ctx, signInAction(srv, portaltest.Technician)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/aup", "/wifi", "/password", "/passkeys", "/activity",
		"/staff/people?q=pupil", "/staff/people/" + portaltest.Pupil, "/staff/guests"} {
		check(p)
	}
}

// On a developer's machine the portal may serve plain http://localhost,
// which browsers treat as a secure context: the Secure session cookie and
// passkeys still work there.
func TestBrowserPlainLocalhost(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{Plain: true})
	if !strings.HasPrefix(srv.URL, "http://localhost:") {
		t.Fatalf("URL %s", srv.URL)
	}
	ctx := newChromium(t, srv)
	var who string
	err := chromedp.Do(ctx,
		virtualAuthenticator(),
		signInAction(srv, portaltest.Teacher),
		chromedp.Navigate(srv.URL+"/passkeys"),
		chromedp.WaitVisible(chromedp.ID("#passkey-name")),
		chromedp.SendKeys(chromedp.ID("#passkey-name"), "Dev laptop"),
		chromedp.Click(chromedp.CSS("#passkey-add button")),
		chromedp.WaitVisible(chromedp.CSS(`.success`)),
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.ID("#passkey-signin")),
		chromedp.Click(chromedp.ID("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)),
		text(chromedp.CSS(`form.signout span`), &who),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(who, portaltest.Teacher) || !strings.Contains(who, "passkey") {
		t.Errorf("signed in as %q", who)
	}
}
