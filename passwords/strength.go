package passwords

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/nbutton23/zxcvbn-go/adjacency"
	"github.com/nbutton23/zxcvbn-go/frequency"
	"github.com/nbutton23/zxcvbn-go/match"
	"github.com/nbutton23/zxcvbn-go/matching"
)

// zxcvbnWindow is how many leading runes zxcvbn sees. zxcvbn-go's cost grows
// faster than the square of the length (every substring is looked up in five
// dictionaries, once per l33t permutation; keyboard walks, which the library
// makes costly too, are matched in spatial.go): measured on a 2-vCPU EPYC, a 128-rune password of
// words costs 40 ms and a 256-rune one up to 750 ms, against 0.6 ms at 24.
// A password whose first 24 characters are already hard to guess passes; one
// whose start is weak is refused even if it goes on to be strong, which errs
// on the safe side. The decorated-word check below sees the whole password.
const zxcvbnWindow = 24

// leetLimit: zxcvbn-go tries every combination of l33t substitutions, which
// grows exponentially with the number of distinct substitutable characters
// (20 runes of "4@3$1!0|7+8(96%2{[<" cost 25 ms). Beyond this many, its l33t
// matcher is skipped; decoratedWord still de-leets the whole password.
const leetLimit = 4

// minWordLen is the shortest dictionary word that decoratedWord refuses:
// shorter cores ("cat", "sun") are left to zxcvbn, whose entropy for them
// already counts the decoration.
const minWordLen = 4

// tooGuessable is rule 5: the password is a single dictionary word with
// decoration, or zxcvbn scores it below minScore with the person's username
// and names as user inputs.
func tooGuessable(candidate, lower string, minScore int, who Person) bool {
	if decoratedWord(lower) {
		return true
	}
	window := candidate
	if utf8.RuneCountInString(window) > zxcvbnWindow {
		window = string([]rune(window)[:zxcvbnWindow])
	}
	return zxcvbnScore(window, userInputs(who), leetFilter(window)...) < minScore
}

// leetFilter is the matcher filter for zxcvbn-go that leaves out its l33t
// matcher when window has more than leetLimit distinct l33t characters.
func leetFilter(window string) []func(match.Matcher) bool {
	if distinctLeet(window) > leetLimit {
		return []func(match.Matcher) bool{matching.FilterL33tMatcher}
	}
	return nil
}

func userInputs(who Person) []string {
	var in []string
	for _, s := range []string{who.Username, who.GivenName, who.FamilyName} {
		if s == "" {
			continue
		}
		in = append(in, s)
		parts := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if len(parts) > 1 {
			in = append(in, parts...)
		}
	}
	return in
}

// decoratedWord reports whether lower (a lower-cased password) is one
// dictionary word of at least minWordLen letters once the digits and symbols
// stuck on either end are stripped and l33t substitutions inside are undone:
// "football1!" and "p@ssw0rd1" are. The dictionaries are zxcvbn-go's own
// frequency lists (English, common passwords, first names, surnames). zxcvbn
// alone already scores both examples 0 (measured), but only on its window and
// only with its l33t matcher; this check is linear in the length and covers
// the whole password.
func decoratedWord(lower string) bool {
	words := dictionary()
	core := strings.TrimFunc(lower, notLetter)
	for _, c := range []string{
		core,
		deleet(core, 'i'),
		deleet(core, 'l'),
		strings.TrimFunc(deleet(lower, 'i'), notLetter),
		strings.TrimFunc(deleet(lower, 'l'), notLetter),
	} {
		if utf8.RuneCountInString(c) >= minWordLen {
			if _, ok := words[c]; ok {
				return true
			}
		}
	}
	return false
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

// deleet undoes the usual l33t substitutions; one and "|" stand for i or l,
// chosen by oneAs.
func deleet(s string, oneAs rune) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '4', '@':
			return 'a'
		case '8':
			return 'b'
		case '(', '{', '[', '<':
			return 'c'
		case '3':
			return 'e'
		case '6', '9':
			return 'g'
		case '!':
			return 'i'
		case '1', '|':
			return oneAs
		case '0':
			return 'o'
		case '$', '5':
			return 's'
		case '+', '7':
			return 't'
		case '%':
			return 'x'
		case '2':
			return 'z'
		}
		return r
	}, s)
}

// dictionary is built once from zxcvbn-go's frequency lists and never
// changed afterwards.
var dictionary = sync.OnceValue(func() map[string]struct{} {
	words := make(map[string]struct{}, 90000)
	for _, l := range frequency.Lists {
		for _, w := range l.List {
			words[strings.ToLower(w)] = struct{}{}
		}
	}
	return words
})

// leetRunes are the characters zxcvbn-go's l33t table substitutes.
var leetRunes = sync.OnceValue(func() map[rune]bool {
	set := make(map[rune]bool)
	for _, subs := range adjacency.GraphMap["l33t"].Graph {
		for _, s := range subs {
			for _, r := range s {
				set[r] = true
			}
		}
	}
	return set
})

func distinctLeet(s string) int {
	leet := leetRunes()
	seen := make(map[rune]bool)
	for _, r := range s {
		if leet[r] {
			seen[r] = true
		}
	}
	return len(seen)
}
