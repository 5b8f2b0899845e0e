package lifecycle

import (
	"fmt"
	"unicode/utf8"

	"keystage.dev/keystage/terminal"
)

// MaxNameLength is the longest given, family or preferred name the readers
// take, in characters: long enough for any real name, short enough that a
// name cannot push the lines of a plan off a technician's screen.
const MaxNameLength = 100

// namesProblem says what is wrong with a record's names, in words for a
// technician, or "" when nothing is. Names reach the technician's terminal
// (the plan under review) and every LDAP client: a control character (ESC,
// BEL, NUL, CR, LF…) could rewrite the screen and hide lines of the plan,
// and a bidirectional override (U+202E) could make one name pass for
// another. The readers refuse such a row, with its file and line.
func namesProblem(given, family, preferred string) string {
	for _, n := range []struct{ what, s string }{{"given name", given}, {"family name", family}, {"preferred name", preferred}} {
		if why := nameProblem(n.s); why != "" {
			return n.what + " " + why + ": correct it in the MIS"
		}
	}
	return ""
}

func nameProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not UTF-8 text (save the export as UTF-8)"
	}
	n := 0
	for _, r := range s {
		n++
		if terminal.Unsafe(r) {
			return fmt.Sprintf("holds the control character %U at character %d", r, n)
		}
	}
	if n > MaxNameLength {
		return fmt.Sprintf("is %d characters long, more than the %d a name may have", n, MaxNameLength)
	}
	return ""
}
