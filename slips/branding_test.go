package slips

import (
	"bytes"
	"strings"
	"testing"

	"keystage.dev/keystage/branding"
)

func brands(t *testing.T) *branding.Set {
	t.Helper()
	logo, err := branding.LoadLogo("../branding/testdata/north.png")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := branding.LoadLogo("../branding/testdata/trust.svg")
	if err != nil {
		t.Fatal(err)
	}
	return &branding.Set{Trust: branding.Brand{Logo: trust}, Schools: map[string]branding.Brand{"north": {Accent: "#7a1f5c", Logo: logo}}}
}

// TestWriteHTMLBranded: each slip carries its person's school's name,
// logo and accent (the trust's logo for a school with none); printed from
// the command line they are in the page, from the portal linked where it
// serves them.
func TestWriteHTMLBranded(t *testing.T) {
	s := sheet()
	s.Branding = brands(t)
	s.Slips[0].School, s.Slips[0].SchoolName = "north", "Northgate Academy"
	s.Slips[1].School, s.Slips[1].SchoolName = "south", "Southfield School"
	var b bytes.Buffer
	if err := WriteHTML(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		".school-north { --accent: #7a1f5c; }", // in the page's own style
		`<section class="slip school-north">`, `<section class="slip">`,
		`<img class="logo" src="data:image/png;base64,`, `<img class="logo" src="data:image/svg&#43;xml;base64,`,
		"Northgate Academy", "Southfield School",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inline slips lack %q:\n%s", want, out)
		}
	}

	s.Stylesheet = "/slips.css"
	b.Reset()
	if err := WriteHTML(&b, s); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	for _, want := range []string{`<link rel="stylesheet" href="/branding.css">`, `<img class="logo" src="/branding/logo/north"`, `<img class="logo" src="/branding/logo"`} {
		if !strings.Contains(out, want) {
			t.Errorf("linked slips lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<style>") || strings.Contains(out, "data:") {
		t.Errorf("linked slips hold inline style or data:\n%s", out)
	}
}
