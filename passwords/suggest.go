package passwords

import (
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// suggestWords are short, concrete words a child can spell and a school can
// print: animals, food, objects and places, chosen by hand (not drawn from
// a frequency list, which holds words no school wants to suggest).
//
//go:embed suggestwords.txt
var suggestWordsText string

var suggestWords = sync.OnceValue(func() []string {
	ws := strings.Fields(suggestWordsText)
	slices.Sort(ws)
	return slices.Compact(ws)
})

// wordsFor is the part of the list p can use: with NoRepeats, only words
// without a letter twice in a row ("otter" would break the rule itself).
func wordsFor(p Policy) []string {
	all := suggestWords()
	if !p.NoRepeats {
		return all
	}
	var out []string
	for _, w := range all {
		if !hasRepeat(w) {
			out = append(out, w)
		}
	}
	return out
}

const (
	suggestMinWords = 3
	suggestMaxWords = 6
	suggestAttempts = 200
)

// suggestShape is how many words a suggestion for p has: three, or more
// when p's minimum length needs them (words are at least 3 letters, and
// every suggestion ends in "-" and two digits).
func suggestShape(p Policy) int {
	n := suggestMinWords
	for n < suggestMaxWords && n*4+3 < p.MinLength {
		n++
	}
	return n
}

// SuggestBits is the entropy in bits of a suggestion for p: log2 of the
// usable words for each word, and log2(90) for two digits that differ.
// Suggestions that p refuses are drawn again, which takes off a little.
func SuggestBits(p Policy) float64 {
	return float64(suggestShape(p))*math.Log2(float64(len(wordsFor(p)))) + math.Log2(90)
}

// Suggest returns a new password for a person in the style the portal
// advises: random words, each with a capital, joined by "-" and ended with
// two different digits, like "Tiger-Lantern-Comet-47". It is drawn with
// crypto/rand and returned only when p.Check accepts it for who, so the
// advice never breaks the rules it comes with (with NoRepeats no word has
// a letter twice in a row). The caller checks history, which Suggest cannot
// see, and never stores the suggestion.
func Suggest(p Policy, who Person) (string, error) {
	return wordsPassword(p, who, wordsFor(p), allDigits, "suggest")
}

const allDigits = "0123456789"

// wordsPassword draws words from words, each with a capital, joined by "-"
// and ended with two different characters of digits, until p accepts one
// for who; what names the caller in errors.
func wordsPassword(p Policy, who Person, words []string, digits, what string) (string, error) {
	n := suggestShape(p)
	var b strings.Builder
	for range suggestAttempts {
		b.Reset()
		for i := range n {
			j, err := randIndex(len(words))
			if err != nil {
				return "", fmt.Errorf("%s: %w", what, err)
			}
			w := []rune(words[j])
			w[0] = unicode.ToUpper(w[0])
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteString(string(w))
		}
		d1, err := randIndex(len(digits))
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		d2, err := randIndex(len(digits) - 1)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		if d2 >= d1 {
			d2++
		}
		b.WriteByte('-')
		b.WriteByte(digits[d1])
		b.WriteByte(digits[d2])
		if len(p.Check(b.String(), who)) == 0 {
			return b.String(), nil
		}
	}
	return "", fmt.Errorf("%s for policy %q: %w", what, p.Name, ErrUnsatisfiable)
}
