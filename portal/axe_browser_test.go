package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpemulation "github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/portal/portaltest"
)

// axeVersion is the axe-core vendored under testdata/axe-core (MPL-2.0,
// see its README): vendored, so that these tests need no network and no
// Node.js, from a plain clone as in CI.
const axeVersion = "4.14.1"

func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/axe-core/axe.min.js")
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	if !strings.HasPrefix(string(b), "/*! axe v"+axeVersion) {
		t.Fatalf("testdata/axe-core/axe.min.js is not axe-core %s", axeVersion)
	}
	return string(b)
}

// axeTags are the rules run: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and
// axe's best practices.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
  resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " ").slice(0, 160))}))))`

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// bypassCSP lets the DevTools protocol inject axe into pages whose
// Content-Security-Policy allows only the portal's own script. It applies
// to pages loaded after it.
func bypassCSP() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdppage.SetBypassCSP, cdppage.SetBypassCSPParams{Enabled: true})
		return err
	})
}

// axeCheck runs axe-core on the page the browser shows and fails the test
// with every violation, named by the page.
func axeCheck(t *testing.T, ctx context.Context, src, name string) {
	t.Helper()
	for _, v := range axeViolations(t, ctx, src, name) {
		t.Errorf("%s: axe %s (%s): %s\n\t%s", name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

// axeViolations runs axe-core on the page the browser shows.
func axeViolations(t *testing.T, ctx context.Context, src, name string) []axeViolation {
	t.Helper()
	var out string
	err := chromedp.Do(ctx,
		chromedp.WaitReady(chromedp.CSS("main")),
		chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
			loaded, err := chromedp.Evaluate[bool](`typeof axe === "object"`)(ctx, tt)
			if err != nil {
				return err
			}
			if !loaded {
				if _, err := chromedp.Evaluate[bool](src+"\n;true")(ctx, tt); err != nil {
					return fmt.Errorf("injecting axe: %w", err)
				}
			}
			out, err = chromedp.Evaluate[string](axeRun, chromedp.EvalAwaitPromise)(ctx, tt)
			return err
		}),
	)
	if err != nil {
		t.Fatalf("%s: axe: %v", name, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("%s: axe result %q: %v", name, out, err)
	}
	return vs
}

// seedPeople adds pupils enough for two pages of search results, with
// long names and registration groups as a real school has, a leaver, and a
// pupil without parental consent.
func seedPeople(t *testing.T, srv *portaltest.Server, n int) {
	t.Helper()
	now := time.Now()
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		for i := range n {
			a := directory.Account{Username: fmt.Sprintf("24pupil%03d", i), Role: directory.RolePupil, Source: directory.SourceManual,
				GivenName: "Oluwaseun-Maximilian", FamilyName: fmt.Sprintf("Fitzgerald-Abernethy %03d", i), YearGroup: "9", RegGroup: "9ABE"}
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
		}
		left := directory.Account{Username: "20leaver", Role: directory.RolePupil, Source: directory.SourceMIS, MISID: "L1",
			GivenName: "Lee", FamilyName: "Leaver", YearGroup: "11", RegGroup: "11C", LeaveDate: now.AddDate(0, -1, 0)}
		if err := tx.CreateAccount(ctx, &left); err != nil {
			return err
		}
		if _, err := tx.UpdateAccount(ctx, left.ID, func(a *directory.Account) error {
			a.Status, a.DisabledAt, a.DisableReason = directory.StatusDisabled, now.AddDate(0, 0, -20), "left"
			return nil
		}); err != nil {
			return err
		}
		if err := tx.AddSuspension(ctx, &directory.Suspension{AccountID: left.ID, From: now.AddDate(0, -2, 0), Until: now.AddDate(0, -2, 7),
			Reason: "Incident", CreatedAt: now.AddDate(0, -2, 0), CreatedBy: "user:" + portaltest.Safeguarding}); err != nil {
			return err
		}
		if err := tx.ReplaceSyncRefusals(ctx, []directory.SyncRefusal{{MISID: "P77-0000012345", File: "students-2026-12-06-export.csv", Line: 14,
			Reason: "no family name: the MIS record has an empty surname field", FirstSeen: now, LastSeen: now}}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: now, Actor: "test", Action: "test.seed", Target: "people"})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// longPlan is a fake lifecycle whose plan has the long lines of a real one.
type longPlan struct{ fakeLifecycle }

func (f *longPlan) Plan(ctx context.Context, job string) (portal.Plan, error) {
	p, err := f.fakeLifecycle.Plan(ctx, job)
	p.Lines = append(p.Lines, portal.PlanLine{Action: "update", Username: "24pupil007",
		Detail: "registration group 9ABE → 10ABE; year 9 → 10; groups: year-09, reg-9ABE → year-10, reg-10ABE"})
	p.Source = "/var/lib/keystage/exports/students-2026-12-06-export.csv"
	return p, err
}

// Every main page, a pupil's and a technician's, passes axe-core, and so do
// the pages after a failed submit and a confirmation.
func TestBrowserAxe(t *testing.T) {
	lc := &longPlan{}
	srv := portaltest.Start(t, portaltest.Options{Services: portal.Services{Lifecycle: lc, Exports: fakeExports{}}, TeachersSeeClasses: true})
	seedPeople(t, srv, 3)
	// The technician tutors 7A, so that a class page has pupils to check.
	if err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		g := directory.Group{Name: "7a", Kind: directory.GroupReg, Source: directory.SourceMIS, Description: "Registration group 7A"}
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return err
		}
		for _, u := range []string{portaltest.Technician, portaltest.Pupil} {
			if err := tx.AddMember(ctx, g.ID, srv.Accounts[u].ID); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "group:7a"})
	}); err != nil {
		t.Fatal(err)
	}
	src := axeSource(t)
	ctx := newChromium(t, srv)
	if err := chromedp.Do(ctx, bypassCSP()); err != nil {
		t.Fatal(err)
	}
	visit := func(path string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		axeCheck(t, ctx, src, path)
	}
	// The harness can fail: a sign-in page whose username lost its label
	// is reported.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/signin"), chromedp.WaitReady(chromedp.CSS("main")),
		chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.querySelector('label[for="username"]').remove(), true`)(ctx, tt)
			return err
		})); err != nil {
		t.Fatal(err)
	}
	broken := axeViolations(t, ctx, src, "broken sign-in")
	if !strings.Contains(fmt.Sprint(broken), "{label ") {
		t.Fatalf("axe did not see a missing label: %+v", broken)
	}
	visit("/signin")
	err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("#username"), portaltest.Pupil),
		chromedp.SendKeys(chromedp.ID("#password"), "wrong"),
		chromedp.Submit(chromedp.ID("#password")),
		chromedp.WaitVisible(chromedp.ID("#signin-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	axeCheck(t, ctx, src, "failed sign-in")
	if err := chromedp.Do(ctx, signInAction(srv, portaltest.Pupil)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/aup", "/wifi", "/password", "/passkeys", "/activity"} {
		visit(p)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/wifi"),
		chromedp.Click(chromedp.CSS(`form[action="/wifi/renew"] button`)),
		chromedp.WaitVisible(chromedp.ID("#wifi-secret")),
		chromedp.Click(chromedp.CSS(`form[action="/wifi/renew"] button`)),
		chromedp.WaitVisible(chromedp.ID("#confirm-yes")),
	)
	if err != nil {
		t.Fatal(err)
	}
	axeCheck(t, ctx, src, "Wi-Fi confirmation")
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/password"),
		chromedp.Click(chromedp.CSS(`form[action="/password/suggest"] button`)),
		chromedp.WaitVisible(chromedp.ID("#suggested")),
	)
	if err != nil {
		t.Fatal(err)
	}
	axeCheck(t, ctx, src, "password suggestion")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("#current"), "not my password"),
		chromedp.SendKeys(chromedp.ID("#new"), "Tiger-Comet-Maple-47"),
		chromedp.SendKeys(chromedp.ID("#confirm"), "Tiger-Comet-Maple-47"),
		chromedp.Submit(chromedp.ID("#confirm")),
		chromedp.WaitVisible(chromedp.ID("#form-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	axeCheck(t, ctx, src, "failed password change")

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form.signout button`)),
		chromedp.WaitVisible(chromedp.ID("#username")),
		signInAction(srv, portaltest.Technician),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/staff/people", "/staff/people?q=pupil", "/staff/people?year=9&status=active",
		"/staff/people/" + portaltest.Pupil, "/staff/people/20leaver", "/staff/guests", "/staff/sync", "/staff/review", "/classes", "/classes/7a"} {
		visit(p)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/staff/sync"),
		chromedp.Click(chromedp.CSS(`form[action="/staff/sync/plan"] button`)),
		chromedp.WaitVisible(chromedp.ID(`#confirm`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	axeCheck(t, ctx, src, "sync plan")
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/staff/guests"),
		chromedp.SendKeys(chromedp.ID("#given"), "Vic"),
		chromedp.SendKeys(chromedp.ID("#family"), "Visitor"),
		chromedp.Submit(chromedp.ID("#given")),
		chromedp.WaitVisible(chromedp.ID("#guest-wifi")),
	)
	if err != nil {
		t.Fatal(err)
	}
	axeCheck(t, ctx, src, "guest slip")
}

// focusRing reads the focused element's outline and the colour behind it
// (the first ancestor with a background: the ring is drawn outside the
// element), and their contrast ratio as WCAG defines it.
const focusRing = `(() => {
  const parse = c => { const m = /rgba?\(([^)]*)\)/.exec(c); if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const el = document.activeElement;
  if (!el || el === document.body) return JSON.stringify({what: "body"});
  const cs = getComputedStyle(el);
  let bg = {r: 255, g: 255, b: 255, a: 1}, bgName = "page";
  for (let p = el.parentElement; p; p = p.parentElement) {
    const c = parse(getComputedStyle(p).backgroundColor);
    if (c && c.a > 0) { bg = c; bgName = p.tagName.toLowerCase() + (p.className ? "." + p.className : ""); break; }
  }
  const ring = parse(cs.outlineColor) || bg;
  const hi = Math.max(lum(ring), lum(bg)), lo = Math.min(lum(ring), lum(bg));
  return JSON.stringify({what: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + (el.textContent || el.name || "").trim().slice(0, 30),
    style: cs.outlineStyle, width: parseFloat(cs.outlineWidth) || 0, ring: cs.outlineColor, bg: bgName,
    ratio: (hi + 0.05) / (lo + 0.05)});
})()`

type ringReading struct {
	What  string  `json:"what"`
	Style string  `json:"style"`
	Width float64 `json:"width"`
	Ring  string  `json:"ring"`
	BG    string  `json:"bg"`
	Ratio float64 `json:"ratio"`
}

// Tabbing through pages, every focused control shows a focus ring at least
// 2 px wide with at least 3:1 contrast against what is around it (WCAG
// 1.4.11). The old amber ring was 1.64:1 on white.
func TestBrowserFocusRingContrast(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := newChromium(t, srv)
	tabThrough := func(path string, tabs int) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path), chromedp.WaitReady(chromedp.CSS("main"))); err != nil {
			t.Fatal(err)
		}
		inMain := 0
		for range tabs {
			var raw string
			err := chromedp.Do(ctx, chromedp.KeyEvent("\t"), chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
				var err error
				raw, err = chromedp.Evaluate[string](focusRing)(ctx, tt)
				return err
			}))
			if err != nil {
				t.Fatal(err)
			}
			var r ringReading
			if err := json.Unmarshal([]byte(raw), &r); err != nil {
				t.Fatal(err)
			}
			if r.What == "body" {
				break
			}
			if !strings.HasPrefix(r.BG, "header") {
				inMain++
			}
			if r.Style == "none" || r.Width < 2 || r.Ratio < 3 {
				t.Errorf("%s: focus on %q: outline %s %.0fpx %s on %s, contrast %.2f:1 (need 3:1)", path, r.What, r.Style, r.Width, r.Ring, r.BG, r.Ratio)
			}
		}
		if inMain == 0 {
			t.Errorf("%s: Tab never reached the page's own controls", path)
		}
	}
	tabThrough("/signin", 6)
	if err := chromedp.Do(ctx, signInAction(srv, portaltest.Technician)); err != nil {
		t.Fatal(err)
	}
	tabThrough("/", 18)
	tabThrough("/password", 20)
	tabThrough("/staff/people?q=a", 20)
}

// After a failed submit the focus goes to the field at fault, which is
// marked aria-invalid and described by the message, not to <body>; and the
// staff navigation marks the section shown with aria-current.
func TestBrowserFailedSubmitAndNavigation(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := newChromium(t, srv)
	focused := func(dst *string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
			// Chromium moves focus to an autofocus field at a rendering
			// update after the page is shown, not at once: wait for it to
			// leave <body> (a page that never moves it fails below).
			_, _ = chromedp.Poll[bool](`document.activeElement !== document.body`, chromedp.WithPollingTimeout(10*time.Second))(ctx, tt)
			var err error
			*dst, err = chromedp.Evaluate[string](`(() => { const el = document.activeElement;
  return el.tagName.toLowerCase() + "#" + el.id + " invalid=" + el.getAttribute("aria-invalid") + " describedby=" + el.getAttribute("aria-describedby"); })()`)(ctx, tt)
			return err
		})
	}
	var signin, password string
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/signin"),
		chromedp.SendKeys(chromedp.ID("#username"), portaltest.Technician),
		chromedp.SendKeys(chromedp.ID("#password"), "not the password"),
		chromedp.Submit(chromedp.ID("#password")),
		chromedp.WaitVisible(chromedp.ID("#signin-error")),
		focused(&signin),
		signInAction(srv, portaltest.Technician),
		chromedp.Navigate(srv.URL+"/password"),
		chromedp.SendKeys(chromedp.ID("#current"), "not my password"),
		chromedp.SendKeys(chromedp.ID("#new"), "Tiger-Comet-Maple-47"),
		chromedp.SendKeys(chromedp.ID("#confirm"), "Tiger-Comet-Maple-47"),
		chromedp.Submit(chromedp.ID("#confirm")),
		chromedp.WaitVisible(chromedp.CSS(".error")),
		focused(&password),
	)
	if err != nil {
		t.Fatal(err)
	}
	if want := "input#password invalid=true describedby=signin-error"; signin != want {
		t.Errorf("after a wrong password, focus: %q, want %q", signin, want)
	}
	if want := "input#current invalid=true describedby=form-error"; password != want {
		t.Errorf("after a wrong current password, focus: %q, want %q", password, want)
	}

	current := func(path string) string {
		t.Helper()
		var cur string
		err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path), chromedp.WaitReady(chromedp.CSS("main")),
			chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
				var err error
				cur, err = chromedp.Evaluate[string](`Array.from(document.querySelectorAll('nav[aria-label="Main"] a[aria-current="page"]')).map(a => a.getAttribute("href")).join(" ")`)(ctx, tt)
				return err
			}))
		if err != nil {
			t.Fatal(err)
		}
		return cur
	}
	for path, want := range map[string]string{
		"/staff/people":                          "/staff/people",
		"/staff/people?q=pupil":                  "/staff/people",
		"/staff/people/" + portaltest.Pupil:      "/staff/people",
		"/staff/guests":                          "/staff/guests",
		"/wifi":                                  "/wifi",
		"/passkeys":                              "/passkeys",
		"/staff/people/" + portaltest.Technician: "/staff/people",
	} {
		if got := current(path); got != want {
			t.Errorf("%s: aria-current on %q, want %q", path, got, want)
		}
	}
}

// At a phone's width (390 px) and the narrowest in use (320 px) no page
// scrolls sideways: not the people table, not the sync page with a plan,
// refusals and runs.
func TestBrowserPhoneWidths(t *testing.T) {
	lc := &longPlan{}
	srv := portaltest.Start(t, portaltest.Options{Services: portal.Services{Lifecycle: lc, Exports: fakeExports{}}})
	seedPeople(t, srv, 3)
	if _, err := lc.Apply(context.Background(), "user:"+portaltest.Technician, "plan-sync"); err != nil {
		t.Fatal(err)
	}
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		run := directory.SyncRun{Kind: "sync", StartedAt: time.Now(), FinishedAt: time.Now(), Applied: true, Actor: "user:" + portaltest.Technician}
		if err := tx.AddSyncRun(ctx, &run); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.run", Target: "job:sync"})
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newChromium(t, srv)
	if err := chromedp.Do(ctx, signInAction(srv, portaltest.Technician)); err != nil {
		t.Fatal(err)
	}
	for _, width := range []int64{390, 320} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 800, chromedp.EmulateMobile)); err != nil {
			t.Fatal(err)
		}
		measure := func(name string, steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			var sw, iw int64
			steps = append(steps, chromedp.WaitReady(chromedp.CSS("main")), chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
				var err error
				if sw, err = chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)(ctx, tt); err != nil {
					return err
				}
				iw, err = chromedp.Evaluate[int64](`window.innerWidth`)(ctx, tt)
				return err
			}))
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatalf("%s at %d px: %v", name, width, err)
			}
			// A mobile browser widens its layout viewport to a page that
			// overflows, so innerWidth grows with the page: both must stay
			// at the screen's width.
			if sw > width || iw > width {
				t.Errorf("%s at %d px: the page is %d px wide (layout viewport %d px)", name, width, sw, iw)
			}
		}
		for _, p := range []string{"/", "/wifi", "/password", "/passkeys", "/activity", "/staff/people?q=pupil",
			"/staff/people?year=9", "/staff/people/20leaver", "/staff/people/" + portaltest.Pupil, "/staff/guests", "/staff/sync", "/staff/review"} {
			measure(p, chromedp.Navigate(srv.URL+p))
		}
		measure("sync plan", chromedp.Navigate(srv.URL+"/staff/sync"),
			chromedp.Click(chromedp.CSS(`form[action="/staff/sync/plan"] button`)), chromedp.WaitVisible(chromedp.ID(`#confirm`)))
	}
	if err := chromedp.Do(ctx, shotAt(390, "people-phone", srv.URL+"/staff/people?q=pupil")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, shotAt(390, "dashboard-phone", srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
}

// within runs steps with their own time limit.
func within(ctx context.Context, d time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// shotAt saves a screenshot at a phone's width (see shot).
func shotAt(width int64, name, u string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.EmulateViewport(width, 844, chromedp.EmulateMobile), chromedp.Navigate(u),
		chromedp.WaitReady(chromedp.CSS("main")), shot(name), chromedp.ResetViewport())
}

// With script switched off, getting a new Wi-Fi password and removing a
// passkey each ask first, and act only on the second, confirming, POST.
func TestBrowserConfirmWithoutScript(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	pupil := srv.Accounts[portaltest.Pupil]
	key := directory.Credential{AccountID: pupil.ID, Kind: directory.CredPasskey, Name: "Phone", Secret: `{"id":"AQID","publicKey":"BAUG"}`, CreatedAt: time.Now()}
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddCredential(ctx, &key); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "passkey.add", Target: "account:" + portaltest.Pupil})
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newChromium(t, srv)
	var first, asked, kept, second, askedKey string
	err = chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
			_, err := cdp.Call(ctx, tt, cdpemulation.SetScriptExecutionDisabled, cdpemulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		signInAction(srv, portaltest.Pupil),
		chromedp.Navigate(srv.URL+"/wifi"),
		chromedp.Click(chromedp.CSS(`form[action="/wifi/renew"] button`)),
		chromedp.WaitVisible(chromedp.ID("#wifi-secret")),
		text(chromedp.ID("#wifi-secret"), &first),
		chromedp.Click(chromedp.CSS(`form[action="/wifi/renew"] button`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The confirmation page, if it comes, comes at once; a bounded wait
	// keeps a failure short.
	err = within(ctx, 20*time.Second, chromedp.WaitVisible(chromedp.ID("#confirm-yes")), text(chromedp.CSS("main"), &asked))
	held, _ := srv.Directory.WiFiSecret(context.Background(), pupil)
	if err != nil || held != first || !strings.Contains(asked, "stops working at once on every") {
		t.Fatalf("one click on the Wi-Fi button: no confirmation (%v); the held password changed: %v", err, held != first)
	}
	err = chromedp.Do(ctx,
		shot("wifi-confirm"),
		chromedp.Click(chromedp.ID("#confirm-no")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/wifi/renew"]`)),
		chromedp.Click(chromedp.CSS("details summary")),
		text(chromedp.ID("#wifi-secret"), &kept),
		chromedp.Click(chromedp.CSS(`form[action="/wifi/renew"] button`)),
		chromedp.Click(chromedp.ID("#confirm-yes")),
		chromedp.WaitVisible(chromedp.CSS(".success")),
		text(chromedp.ID("#wifi-secret"), &second),
		chromedp.Navigate(srv.URL+"/passkeys"),
		chromedp.Click(chromedp.CSS(`form[action$="/remove"] button`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := within(ctx, 20*time.Second, chromedp.WaitVisible(chromedp.ID("#confirm-yes")), text(chromedp.CSS("main"), &askedKey)); err != nil {
		t.Errorf("one click on Remove: no confirmation (%v)", err)
	}
	if kept != first {
		t.Errorf("kept %q, first %q: going back must change nothing", kept, first)
	}
	if second == first || second == "" {
		t.Errorf("after confirming: %q (was %q)", second, first)
	}
	if held, _ := srv.Directory.WiFiSecret(context.Background(), pupil); held != second {
		t.Errorf("held %q, shown %q", held, second)
	}
	keys, _ := srv.Store.Credentials(context.Background(), pupil.ID, directory.CredPasskey)
	if !strings.Contains(askedKey, "Phone") || len(keys) != 1 || !keys[0].RevokedAt.IsZero() {
		t.Fatalf("asked %q; key %+v: the first click must not remove it", askedKey, keys)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("#confirm-yes")), chromedp.WaitVisible(chromedp.CSS(".success"))); err != nil {
		t.Fatal(err)
	}
	keys, _ = srv.Store.Credentials(context.Background(), pupil.ID, directory.CredPasskey)
	if len(keys) != 1 || keys[0].RevokedAt.IsZero() {
		t.Errorf("after confirming, the passkey is still live: %+v", keys)
	}
}
