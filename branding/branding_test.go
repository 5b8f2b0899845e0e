package branding_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/branding"
)

func TestParseAccent(t *testing.T) {
	for _, c := range []struct {
		in, want string
		err      error
	}{
		{"#0B5CAD", "#0b5cad", nil},
		{"#000000", "#000000", nil},
		{"0b5cad", "", branding.ErrColour},
		{"#0b5cad;", "", branding.ErrColour},
		{"#0b5cag", "", branding.ErrColour},
		{"red", "", branding.ErrColour},
		{"#fff", "", branding.ErrColour},
		{"#0b5cad} body{display:none", "", branding.ErrColour},
		{"#ffdd00", "", branding.ErrContrast}, // yellow: white text on it is unreadable
	} {
		got, err := branding.ParseAccent(c.in)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("ParseAccent(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestLoadLogo(t *testing.T) {
	png, err := branding.LoadLogo("testdata/north.png")
	if err != nil || png.Type != "image/png" || png.ETag == "" {
		t.Fatalf("PNG: %+v %v", png, err)
	}
	svg, err := branding.LoadLogo("testdata/trust.svg")
	if err != nil || svg.Type != "image/svg+xml" {
		t.Fatalf("SVG: %+v %v", svg, err)
	}
	if !strings.HasPrefix(svg.DataURL(), "data:image/svg+xml;base64,") {
		t.Errorf("data URL %.40s", svg.DataURL())
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.png")
	data, _ := os.ReadFile("testdata/north.png")
	if err := os.WriteFile(big, append(data, bytes.Repeat([]byte{0}, branding.MaxLogoBytes)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := branding.LoadLogo(big); !errors.Is(err, branding.ErrLogoTooLarge) {
		t.Errorf("a logo over the limit: %v", err)
	}
	if _, err := branding.LoadLogo(filepath.Join(dir, "missing.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing logo: %v", err)
	}
}

func TestParseLogoRefusesUnsafeSVG(t *testing.T) {
	for name, c := range map[string]struct {
		svg string
		err error
	}{
		"script":          {`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, branding.ErrSVGUnsafe},
		"event":           {`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`, branding.ErrSVGUnsafe},
		"foreignObject":   {`<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>`, branding.ErrSVGUnsafe},
		"outside image":   {`<svg xmlns="http://www.w3.org/2000/svg"><image href="https://example.com/a.png"/></svg>`, branding.ErrSVGUnsafe},
		"javascript href": {`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="javascript:alert(1)"><rect/></a></svg>`, branding.ErrSVGUnsafe},
		"outside url":     {`<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(https://example.com/#x)"/></svg>`, branding.ErrSVGUnsafe},
		"import":          {`<svg xmlns="http://www.w3.org/2000/svg"><style>@import "https://example.com/a.css";</style></svg>`, branding.ErrSVGUnsafe},
		"entity":          {`<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>`, branding.ErrSVGUnsafe},
		"not svg":         {`<html><body/></html>`, branding.ErrLogoFormat},
		"not XML":         {`GIF89a`, branding.ErrLogoFormat},
		"empty":           {``, branding.ErrLogoFormat},
		"broken PNG":      {"\x89PNG\r\n\x1a\nxx", branding.ErrLogoFormat},
	} {
		if _, err := branding.ParseLogo([]byte(c.svg)); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", name, err, c.err)
		}
	}
}

func TestSetCSSAndFallback(t *testing.T) {
	logo, err := branding.LoadLogo("testdata/north.png")
	if err != nil {
		t.Fatal(err)
	}
	s := &branding.Set{Trust: branding.Brand{Accent: "#0f2a47"}, Schools: map[string]branding.Brand{
		"north": {Accent: "#7a1f5c", Logo: logo}, "south": {}, "bad id": {Accent: "#000000"},
	}}
	css := s.CSS()
	if css != ":root { --accent: #0f2a47; }\n.school-north { --accent: #7a1f5c; }\n" {
		t.Errorf("CSS:\n%s", css)
	}
	if b := s.For("south"); b.Accent != "#0f2a47" || b.Logo != nil {
		t.Errorf("south falls back to the trust's: %+v", b)
	}
	if b := s.For("north"); b.Accent != "#7a1f5c" || b.Logo != logo {
		t.Errorf("north's own: %+v", b)
	}
	if id, ok := s.LogoOf("north"); id != "north" || !ok {
		t.Errorf("north's logo: %q %v", id, ok)
	}
	if _, ok := s.LogoOf("south"); ok {
		t.Errorf("south has no logo, and the trust none")
	}
	if !(*branding.Set)(nil).Empty() || s.Empty() || !(&branding.Set{Schools: map[string]branding.Brand{"x": {}}}).Empty() {
		t.Errorf("Empty")
	}
}

func FuzzParseLogo(f *testing.F) {
	for _, p := range []string{"testdata/north.png", "testdata/trust.svg"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="x"/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := branding.ParseLogo(data)
		if err != nil {
			return
		}
		if l.Type != "image/png" && l.Type != "image/svg+xml" {
			t.Fatalf("type %q", l.Type)
		}
		if len(l.Data) > branding.MaxLogoBytes || l.ETag == "" {
			t.Fatalf("accepted %d bytes, ETag %q", len(l.Data), l.ETag)
		}
	})
}

func FuzzParseAccent(f *testing.F) {
	f.Add("#0b5cad")
	f.Add("#0b5cad;}")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := branding.ParseAccent(s)
		if err != nil {
			return
		}
		if len(got) != 7 || strings.ContainsAny(got, ";{}<>\"' ") {
			t.Fatalf("%q accepted as %q", s, got)
		}
	})
}
