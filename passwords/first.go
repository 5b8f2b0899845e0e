package passwords

import (
	"strings"
)

// firstDigits leave out 0 and 1, which print like O, I and l.
const firstDigits = "23456789"

// firstWords are the suggestion words a first password may use: none that
// starts with i, l or o, whose capitals I, L and O read as 1, 1 and 0 on a
// printed slip. With I, O, 0 and 1 gone, a lower-case l or o can only be
// what it is.
func firstWords(p Policy) []string {
	var out []string
	for _, w := range wordsFor(p) {
		if !strings.ContainsRune("ilo", rune(w[0])) {
			out = append(out, w)
		}
	}
	return out
}

// FirstPassword returns a one-time first password for who: words a child
// can spell, each with a capital, joined by "-" and ended with two
// different digits from 2 to 9 ("Tiger-Comet-Banjo-47"), with no character
// that looks like another on a printed slip (no I, O, 0 or 1). It is drawn
// with crypto/rand and returned only when p accepts it for who.
func FirstPassword(p Policy, who Person) (string, error) {
	return wordsPassword(p, who, firstWords(p), firstDigits, "first password")
}
