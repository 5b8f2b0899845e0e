package lifecycle

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Fold makes a name ASCII lower-case letters only, what usernames are made
// of: Zoë → zoe, O'Connor-Smyth → oconnorsmyth, Nguyễn → nguyen.
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, _ := transform.String(t, s)
	var b strings.Builder
	for _, c := range strings.ToLower(folded) {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c)
		case c == 'ø':
			b.WriteRune('o')
		case c == 'æ':
			b.WriteString("ae")
		case c == 'ß':
			b.WriteString("ss")
		case c == 'đ':
			b.WriteRune('d')
		case c == 'ł':
			b.WriteRune('l')
		}
	}
	return b.String()
}
