package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/branding"
)

// TestConfigBranding: a trust's logo and accent colour and a school's own
// are read and checked with the configuration; a bad colour, a missing
// logo, one too large and an SVG with a script are each reported, all at
// once, naming the table.
func TestConfigBranding(t *testing.T) {
	dir := t.TempDir()
	png, err := os.ReadFile(filepath.Join("..", "..", "branding", "testdata", "north.png"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("north.png", png)
	big := write("big.png", append(png, bytes.Repeat([]byte{0}, branding.MaxLogoBytes)...))
	script := write("script.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	load := func(body string) (*Config, error) {
		t.Helper()
		path := write("keystage.toml", []byte("data_dir = "+quoteTOML(dir)+"\n"+body))
		return loadConfig(path, "")
	}

	cfg, err := load(`school = "Riverside Trust"
accent_colour = "#0F2A47"
[[schools]]
id = "north"
name = "Northgate Academy"
logo = ` + quoteTOML(good) + `
accent_colour = "#7a1f5c"
[[schools]]
id = "south"
name = "Southfield School"
`)
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.brands.For("north"); b.Accent != "#7a1f5c" || b.Logo == nil || b.Logo.Type != "image/png" {
		t.Errorf("north's brand: %+v", b)
	}
	if b := cfg.brands.For("south"); b.Accent != "#0f2a47" || b.Logo != nil {
		t.Errorf("south follows the trust's: %+v", b)
	}

	if cfg, err := load(`school = "One School"` + "\n"); err != nil || cfg.brands != nil {
		t.Errorf("no branding: %v %v", cfg.brands, err)
	}

	_, err = load(`accent_colour = "blue"
logo = ` + quoteTOML(filepath.Join(dir, "missing.svg")) + `
[[schools]]
id = "north"
name = "Northgate Academy"
logo = ` + quoteTOML(big) + `
accent_colour = "#ffdd00"
[[schools]]
id = "south"
name = "Southfield School"
logo = ` + quoteTOML(script) + `
`)
	if err == nil {
		t.Fatal("bad branding accepted")
	}
	for _, want := range []string{
		`accent_colour: accent colour "blue": not a colour #RRGGBB`,
		"logo: open " + filepath.Join(dir, "missing.svg"),
		`schools "north": logo: ` + big + `: logo too large`,
		`schools "north": accent_colour: accent colour #ffdd00: too light`,
		`schools "south": logo: ` + script + `: SVG holds a script`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestPasswordSlipsBranded: first-password slips printed from the command
// line carry each person's school's logo and accent in the page itself
// (they are opened from a file), and a school with none the trust's logo.
func TestPasswordSlipsBranded(t *testing.T) {
	dir := t.TempDir()
	logo := filepath.Join("..", "..", "branding", "testdata", "north.png")
	abs, err := filepath.Abs(logo)
	if err != nil {
		t.Fatal(err)
	}
	trustLogo, err := filepath.Abs(filepath.Join("..", "..", "branding", "testdata", "trust.svg"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keystage.toml")
	cfg := "data_dir = " + quoteTOML(dir) + "\nschool = \"Riverside Trust\"\nlogo = " + quoteTOML(trustLogo) + "\n" +
		"[[schools]]\nid = \"north\"\nname = \"Northgate Academy\"\nlogo = " + quoteTOML(abs) + "\naccent_colour = \"#7a1f5c\"\n" +
		"[[schools]]\nid = \"south\"\nname = \"Southfield School\"\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := keystage(t, "", append([]string{"--config", path}, args...)...)
		if code != 0 {
			t.Fatalf("%v: %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	must("migrate", "up")
	// Staff, whose first passwords need no parent's consent.
	must("account", "add", "--username", "nstaff", "--role", "staff", "--school", "north")
	must("account", "add", "--username", "sstaff", "--role", "staff", "--school", "south")
	out := must("password", "issue", "--user", "nstaff") + must("password", "issue", "--user", "sstaff")
	for _, want := range []string{
		".school-north { --accent: #7a1f5c; }", `<section class="slip school-north">`,
		`src="data:image/png;base64,`, `src="data:image/svg&#43;xml;base64,`,
		`<p class="school">Northgate Academy</p>`, `<p class="school">Southfield School</p>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("slips lack %q:\n%.3000s", want, out)
		}
	}
}
