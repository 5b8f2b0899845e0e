package portal

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var (
	scriptTag = regexp.MustCompile(`(?i)<(script|iframe|object|embed|style|svg|math)`)
	scriptURL = regexp.MustCompile(`(?i)<[a-z][^>]*\s(href|src)\s*=\s*["']?\s*(javascript|vbscript|data):`)
	eventAttr = regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`)
)

// AUP text is written by staff, but it is rendered into every person's
// page: whatever it holds, no script or event handler may come out.
// (Images may: the CSP keeps them to the portal's own origin.)
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"# Policy\n\nBe kind.",
		"<script>alert(1)</script>",
		"[x](javascript:alert(1))",
		"<img src=x onerror=alert(1)>",
		"![x](JaVaScRiPt:alert(1))",
		"<a href=\"javascript:alert(1)\">x</a>",
		"```\n<script>\n```",
		"[x](vbscript:msgbox)",
		"<details open ontoggle=alert(1)>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out, err := renderMarkdown(src)
		if err != nil {
			return
		}
		html := string(out)
		for _, re := range []*regexp.Regexp{scriptTag, scriptURL, eventAttr} {
			if m := re.FindString(html); m != "" {
				t.Fatalf("rendered %q to %q, which holds %q", src, out, m)
			}
		}
	})
}

// Names typed by people (passkey labels) are cleaned before they are
// stored and shown.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"My phone", "  padded  ", "tab\tname", "\x00\x1f", strings.Repeat("é", 100), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cleanName(s)
		if utf8.RuneCountInString(got) > 60 {
			t.Fatalf("%q: %d runes", got, utf8.RuneCountInString(got))
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("%q keeps control character %U", got, r)
			}
		}
		if cleanName(got) != got && utf8.ValidString(s) {
			t.Fatalf("not stable: %q then %q", got, cleanName(got))
		}
	})
}

// Dates typed into forms are read in the school's zone or refused.
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"2026-09-03", "2026-09-03T08:30", "", "03/09/2026", "2026-02-30", "9999-12-31T23:59"} {
		f.Add(s)
	}
	loc, _ := time.LoadLocation("Europe/London")
	s := &Server{loc: loc}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := s.parseWhen(v)
		if err != nil {
			return
		}
		if strings.TrimSpace(v) == "" {
			if !got.IsZero() {
				t.Fatalf("empty gave %v", got)
			}
			return
		}
		if got.Location() != loc {
			t.Fatalf("%q read in %v", v, got.Location())
		}
	})
}
