package portal_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/branding"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestSchoolBranding: a person sees their school's logo and accent colour
// (the accent through a class on the page and the served stylesheet, never
// inline style), a school without its own the trust's, and everyone the
// trust's before signing in; the logo and stylesheet are served with their
// content types and cache headers; a school technician's first-password
// slips carry the pupil's school's brand; a portal with no branding
// serves none.
func TestSchoolBranding(t *testing.T) {
	ctx := context.Background()
	load := func(p string) *branding.Logo {
		l, err := branding.LoadLogo(p)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	northLogo, trustLogo := load("../branding/testdata/north.png"), load("../branding/testdata/trust.svg")
	set := &branding.Set{Trust: branding.Brand{Accent: "#0f2a47", Logo: trustLogo},
		Schools: map[string]branding.Brand{"north": {Accent: "#7a1f5c", Logo: northLogo}, "south": {}}}
	srv := portaltest.Start(t, portaltest.Options{SchoolNames: map[string]string{"north": "Northgate Academy", "south": "Southfield School"}, Branding: set})
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		for name, school := range map[string]string{portaltest.Pupil: "north", portaltest.Technician: "north", portaltest.Teacher: "south"} {
			a, err := tx.AccountByUsername(ctx, name)
			if err != nil {
				return err
			}
			if _, err := tx.UpdateAccount(ctx, a.ID, func(a *directory.Account) error { a.School = school; return nil }); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "branding"})
	}); err != nil {
		t.Fatal(err)
	}

	if p := newBrowser(t, srv).get("/signin"); !strings.Contains(p.body, `<link rel="stylesheet" href="/branding.css">`) ||
		!strings.Contains(p.body, `<img class="logo" src="/branding/logo" alt="">`) || strings.Contains(p.body, "school-") {
		t.Errorf("sign-in page: the trust's brand, and no school's:\n%.2000s", p.body)
	}
	tech := mustSignIn(t, srv, portaltest.Technician)
	if p := tech.get("/"); !strings.Contains(p.body, `<body class="school-north">`) || !strings.Contains(p.body, `src="/branding/logo/north"`) ||
		!strings.Contains(p.body, "Northgate Academy") || strings.Contains(p.body, "style=") || strings.Contains(p.body, "<style") {
		t.Errorf("north's technician's page:\n%.2000s", p.body)
	}
	if p := mustSignIn(t, srv, portaltest.Teacher).get("/"); strings.Contains(p.body, "school-south") || !strings.Contains(p.body, `src="/branding/logo"`) ||
		!strings.Contains(p.body, "Southfield School") {
		t.Errorf("south, with no brand of its own, shows the trust's:\n%.2000s", p.body)
	}

	anon := newBrowser(t, srv)
	css := anon.get("/branding.css")
	if css.status != 200 || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") || css.header.Get("Cache-Control") != "public, max-age=3600" ||
		css.header.Get("ETag") == "" || css.body != ":root { --accent: #0f2a47; }\n.school-north { --accent: #7a1f5c; }\n" {
		t.Errorf("branding.css: %d %v\n%s", css.status, css.header, css.body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/branding.css", nil)
	req.Header.Set("If-None-Match", css.header.Get("ETag"))
	if p := anon.do(req); p.status != http.StatusNotModified {
		t.Errorf("branding.css again with its ETag: %d", p.status)
	}
	png := anon.get("/branding/logo/north")
	if png.status != 200 || png.header.Get("Content-Type") != "image/png" || png.header.Get("ETag") != northLogo.ETag ||
		png.header.Get("Cache-Control") != "public, max-age=3600" || !bytes.Equal([]byte(png.body), northLogo.Data) {
		t.Errorf("north's logo: %d %v", png.status, png.header)
	}
	svg := anon.get("/branding/logo")
	if svg.status != 200 || svg.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(svg.header.Get("Content-Security-Policy"), "sandbox") ||
		svg.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("the trust's logo: %d %v", svg.status, svg.header)
	}
	for _, path := range []string{"/branding/logo/south", "/branding/logo/west", "/branding/logo/..%2fnorth"} {
		if p := anon.get(path); p.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, p.status)
		}
	}

	p := tech.post("/staff/first-passwords", url.Values{"user": {portaltest.Pupil}, "confirm": {"yes"}})
	if p.status != 200 || !slipPassword.MatchString(p.body) || !strings.Contains(p.body, `<section class="slip school-north">`) ||
		!strings.Contains(p.body, `src="/branding/logo/north"`) || !strings.Contains(p.body, `href="/branding.css"`) ||
		!strings.Contains(p.body, `<p class="school">Northgate Academy</p>`) {
		t.Errorf("north's pupil's slip:\n%s", p.body)
	}

	plain := portaltest.Start(t, portaltest.Options{})
	if p := newBrowser(t, plain).get("/branding.css"); p.status != http.StatusNotFound {
		t.Errorf("an unbranded portal serves branding.css: %d", p.status)
	}
	if p := newBrowser(t, plain).get("/signin"); strings.Contains(p.body, "branding") {
		t.Errorf("an unbranded portal links branding")
	}
}
