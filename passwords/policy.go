package passwords

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Defaults of the staff policy, which carries all six rules of the school's
// acceptable-use policy.
const (
	DefaultMinLength   = 8
	DefaultMaxLength   = 256
	DefaultMinClasses  = 3
	DefaultFragmentLen = 3
	DefaultMinScore    = 3
	DefaultHistory     = 5
)

// Violation codes. They are stable: frontends and scripts match on them.
const (
	CodeTooShort   = "too-short"
	CodeTooLong    = "too-long"
	CodeUnreadable = "unreadable"
	CodeClasses    = "classes"
	CodeRepeated   = "repeated"
	CodeUsername   = "username"
	CodeName       = "name"
	CodeDictionary = "dictionary"
	CodeReused     = "reused"
)

// ErrBadPolicy is returned by Policy.Validate, wrapped with every problem found.
var ErrBadPolicy = errors.New("passwords: bad policy")

// Policy is a named set of password rules, chosen by role in the
// configuration. Each field is taken literally and a zero value switches its
// rule off (a configuration must be able to do that, for example History for
// guests), except MaxLength, where zero means DefaultMaxLength because the
// checks must never run on unbounded input. Start from DefaultPolicies and
// override; call Validate on a policy read from configuration.
type Policy struct {
	Name        string
	MinLength   int  // characters (runes, so "£" is one), default 8
	MaxLength   int  // default 256; longer input is refused with "too-long" and nothing else runs
	MinClasses  int  // of upper case, lower case, digits 0-9, special (every other non-alphanumeric); default 3
	NoRepeats   bool // no two identical characters in a row
	FragmentLen int  // a run of this many consecutive characters of the username or a name is forbidden; default 3
	MinScore    int  // zxcvbn minimum score (0-4), default 3; above zero also refuses a decorated dictionary word
	History     int  // how many previous passwords are refused, default 5
}

// DefaultPolicies returns the built-in policies by name. A fresh map each
// call, so callers may change it.
//
//   - "staff": all six rules at their defaults: 8 characters, 3 classes, no
//     repeats, no 3-character fragment of username or names, zxcvbn score 3,
//     the last 5 passwords refused.
//   - "pupil-ks2" (ages 7 to 11): the staff rules, but a zxcvbn score of 2 and
//     the last 3 passwords: children of that age can manage the composition
//     rules, and teachers reset forgotten passwords often.
//   - "pupil-ks1" (ages 5 to 7), gentler: 6 characters, 2 classes (say a word
//     and a number), repeats allowed, names still refused (classmates know
//     them), score 1 (so still no plain or decorated dictionary word), and no
//     history, since their passwords are reset by staff more than changed.
//   - "guest": visitors choose a password rarely and keep it for days, so
//     length and guessability matter more than composition (NIST SP 800-63B):
//     10 characters, 2 classes, repeats allowed, no name fragments, score 3,
//     no history (the account does not live long enough to have one).
func DefaultPolicies() map[string]Policy {
	return map[string]Policy{
		"staff": {
			Name: "staff", MinLength: DefaultMinLength, MaxLength: DefaultMaxLength,
			MinClasses: DefaultMinClasses, NoRepeats: true, FragmentLen: DefaultFragmentLen,
			MinScore: DefaultMinScore, History: DefaultHistory,
		},
		"pupil-ks2": {
			Name: "pupil-ks2", MinLength: 8, MaxLength: DefaultMaxLength,
			MinClasses: 3, NoRepeats: true, FragmentLen: 3,
			MinScore: 2, History: 3,
		},
		"pupil-ks1": {
			Name: "pupil-ks1", MinLength: 6, MaxLength: DefaultMaxLength,
			MinClasses: 2, NoRepeats: false, FragmentLen: 3,
			MinScore: 1, History: 0,
		},
		"guest": {
			Name: "guest", MinLength: 10, MaxLength: DefaultMaxLength,
			MinClasses: 2, NoRepeats: false, FragmentLen: 3,
			MinScore: 3, History: 0,
		},
	}
}

// Validate reports every problem of a policy at once, wrapped in ErrBadPolicy.
func (p Policy) Validate() error {
	var problems []string
	if p.MinLength < 0 {
		problems = append(problems, "min length is negative")
	}
	if p.MaxLength < 0 {
		problems = append(problems, "max length is negative")
	}
	if p.MinLength > p.maxLength() {
		problems = append(problems, fmt.Sprintf("min length %d is above max length %d", p.MinLength, p.maxLength()))
	}
	if p.MinClasses < 0 || p.MinClasses > 4 {
		problems = append(problems, fmt.Sprintf("min classes %d is not between 0 and 4", p.MinClasses))
	}
	if p.FragmentLen < 0 {
		problems = append(problems, "fragment length is negative")
	}
	if p.MinScore < 0 || p.MinScore > 4 {
		problems = append(problems, fmt.Sprintf("min score %d is not between 0 and 4", p.MinScore))
	}
	if p.History < 0 {
		problems = append(problems, "history is negative")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w %q: %s", ErrBadPolicy, p.Name, strings.Join(problems, "; "))
	}
	return nil
}

func (p Policy) maxLength() int {
	if p.MaxLength <= 0 {
		return DefaultMaxLength
	}
	return p.MaxLength
}

// Person is whose password is checked: their username and names must not
// appear in it. Empty fields are skipped.
type Person struct {
	Username, GivenName, FamilyName string
}

func (who Person) nfc() Person {
	return Person{
		Username:   norm.NFC.String(who.Username),
		GivenName:  norm.NFC.String(who.GivenName),
		FamilyName: norm.NFC.String(who.FamilyName),
	}
}

// Violation is one broken rule: a stable Code for programs and a Message for
// the person choosing the password. Messages never quote the password.
type Violation struct {
	Code    string
	Message string
}

// Check returns every rule of p that candidate breaks, in a fixed order, or
// nil. History is not checked here (see CheckHistory): it needs hashes.
// Candidate and names are compared in Unicode NFC, so a password typed with
// decomposed accents gets the verdict of its composed form.
//
// Input longer than MaxLength is refused with "too-long" alone: nothing else
// runs on it, so its cost stays bounded whatever its size.
func (p Policy) Check(candidate string, who Person) []Violation {
	maxLen := p.maxLength()
	tooLong := []Violation{{CodeTooLong, fmt.Sprintf(
		"Your password is too long. Use %d characters or fewer.", maxLen)}}
	// Characters are counted in NFC, as Hash stores them, so that "â" is one
	// however the keyboard sent it. A code point decomposes to at most 4
	// (UAX #15, maximum expansion of NFD), so input of more than 4*maxLen
	// runes cannot come to maxLen in NFC: it is refused before normalising.
	if runeCountUpTo(candidate, 4*maxLen+1) > 4*maxLen {
		return tooLong
	}
	ok := readable(candidate)
	if ok {
		candidate = norm.NFC.String(candidate)
	}
	who = who.nfc()
	n := runeCountUpTo(candidate, maxLen+1)
	if n > maxLen {
		return tooLong
	}

	var vs []Violation
	if !ok {
		vs = append(vs, Violation{CodeUnreadable,
			"Your password has a character that cannot be used, like a tab or an invisible one. Use only letters, numbers, spaces and symbols."})
	}
	if n < p.MinLength {
		vs = append(vs, Violation{CodeTooShort, fmt.Sprintf(
			"Your password needs at least %s. It has %d.", plural(p.MinLength, "character"), n)})
	}
	if c := classes(candidate); c < p.MinClasses {
		vs = append(vs, Violation{CodeClasses, fmt.Sprintf(
			"Your password needs at least %d of these 4 kinds of character: capital letters, small letters, numbers and symbols (like ! or £). It has %d.",
			p.MinClasses, c)})
	}
	if p.NoRepeats && hasRepeat(candidate) {
		vs = append(vs, Violation{CodeRepeated,
			"Your password has the same character twice in a row, like aa or 11. Change one of them."})
	}
	lower := strings.ToLower(candidate)
	if p.FragmentLen > 0 {
		if containsFragment(lower, who.Username, p.FragmentLen, false) {
			vs = append(vs, Violation{CodeUsername,
				"Your password has part of your username in it. Take it out."})
		}
		if containsFragment(lower, who.GivenName, p.FragmentLen, true) ||
			containsFragment(lower, who.FamilyName, p.FragmentLen, true) {
			vs = append(vs, Violation{CodeName,
				"Your password has part of your name in it. Take it out."})
		}
	}
	if p.MinScore > 0 && n > 0 && tooGuessable(candidate, lower, p.MinScore, who) {
		vs = append(vs, Violation{CodeDictionary, "Your password is too easy to guess. " + p.Advice()})
	}
	return vs
}

// CheckHistory refuses candidate when it matches one of the p.History newest
// of previous (encoded hashes, newest first), verified with h. A hash that
// cannot be parsed cannot match and is skipped: the history is advice to the
// person, not a gate on a broken record.
func (p Policy) CheckHistory(candidate string, previous []string, h *Hasher) []Violation {
	if p.History <= 0 || len(previous) == 0 {
		return nil
	}
	if len(previous) > p.History {
		previous = previous[:p.History]
	}
	for _, enc := range previous {
		if ok, _, err := h.Verify(enc, candidate); err == nil && ok {
			return []Violation{{CodeReused, fmt.Sprintf(
				"You have used this password before. Choose one that is not one of your last %s.",
				plural(p.History, "password"))}}
		}
	}
	return nil
}

// Advice says how to make a password this policy accepts, in the style
// Suggest draws from, so that following the advice never breaks another
// of the policy's rules.
func (p Policy) Advice() string {
	a := "Adding numbers or symbols to a word is not enough: try joining three or four random words with numbers or symbols between them"
	if p.NoRepeats {
		a += ", using words with no letter twice in a row (not \"otter\" or \"balloon\")"
	}
	return a + "."
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// runeCountUpTo counts runes but stops at limit, so that huge input costs no
// more than a refused one.
func runeCountUpTo(s string, limit int) int {
	n := 0
	for i := 0; i < len(s) && n < limit; n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return n
}

// readable is false for invalid UTF-8 and for control characters: a NUL or a
// newline in a password breaks PAM, nslcd and the RADIUS clients downstream,
// and cannot be typed the same way twice.
func readable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// classes counts the four classes present. Letters are upper or lower case by
// Unicode; digits are 0-9 only; special is every rune that is neither a letter
// nor a digit, so "£", "!", a space and an emoji all count. A letter
// without case (as in many scripts) or a non-ASCII digit belongs to no class.
func classes(s string) int {
	var upper, lower, digit, special bool
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			special = true
		}
	}
	n := 0
	for _, b := range []bool{upper, lower, digit, special} {
		if b {
			n++
		}
	}
	return n
}

// hasRepeat reports two identical runes in a row (case matters: "aA" is fine).
func hasRepeat(s string) bool {
	prev := utf8.RuneError
	first := true
	for _, r := range s {
		if !first && r == prev {
			return true
		}
		prev, first = r, false
	}
	return false
}

// containsFragment reports whether lowerCandidate contains any run of n
// consecutive runes of source, ignoring case. Any longer run contains one of
// length n, so checking length n suffices. A source shorter than n forbids
// nothing. With splitWords, source is first cut at every rune that is not a
// letter or digit, so "Smith-Jones" gives fragments of "smith" and "jones"
// but not "h-j".
func containsFragment(lowerCandidate, source string, n int, splitWords bool) bool {
	if source == "" || n <= 0 {
		return false
	}
	parts := []string{source}
	if splitWords {
		parts = strings.FieldsFunc(source, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})
	}
	for _, part := range parts {
		rs := []rune(strings.ToLower(part))
		for i := 0; i+n <= len(rs); i++ {
			if strings.Contains(lowerCandidate, string(rs[i:i+n])) {
				return true
			}
		}
	}
	return false
}
