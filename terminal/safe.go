// Package terminal makes text from outside (the MIS, a CSV file, a
// person's name) safe to print to a technician's terminal. It must not
// change text for any other use: the directory keeps names as they are.
package terminal

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Safe returns s with everything that could move the cursor, rewrite the
// screen, set the window title or reorder the line shown as a visible
// escape: C0 and C1 control characters (ESC, BEL, NUL, CR, LF, tab…), DEL,
// the bidirectional controls (U+202E and its kin), and bytes that are not
// UTF-8. `ESC]0;x BEL` prints as `\x1b]0;x\x07`, so a name can neither hide
// lines of a plan under review nor pass for another.
func Safe(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || Unsafe(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80 && Unsafe(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case Unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Unsafe reports whether r is a control character (C0, DEL, C1) or a
// bidirectional formatting character: what a name must never hold.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}
