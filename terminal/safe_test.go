package terminal

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Zoë O'Connor-Smyth", "Zoë O'Connor-Smyth"},
		{"Siân", "Siân"},
		{"\x1b]0;owned\x07\x1b[2JJane", `\x1b]0;owned\x07\x1b[2JJane`},
		{"a\x00b\r\nc\td", `a\x00b\x0d\x0ac\x09d`},
		{"Jane\u202eenaJ", `Jane\u202eenaJ`},
		{"x\u0085y\u2066z", `x\u0085y\u2066z`},
		{"bad\xffutf8", `bad\xffutf8`},
	} {
		if got := Safe(tc.in); got != tc.want {
			t.Errorf("Safe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzSafe(f *testing.F) {
	for _, s := range []string{"Jane", "\x1b[2J", "a\u202eb", "\xff\xfe", "\r\n\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Safe(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Safe(%q) = %q is not UTF-8", s, out)
		}
		for _, r := range out {
			if Unsafe(r) {
				t.Fatalf("Safe(%q) = %q holds %U", s, out, r)
			}
		}
		if !strings.ContainsAny(s, "\\") && strings.Count(out, `\`) == 0 && out != s {
			t.Fatalf("Safe(%q) = %q changed text with nothing to escape", s, out)
		}
	})
}
