package passwords

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	zxcvbn "github.com/nbutton23/zxcvbn-go"
	"github.com/nbutton23/zxcvbn-go/match"
	"github.com/nbutton23/zxcvbn-go/matching"
)

// keyboardWalks are inputs the policy must go on refusing exactly as the
// unfiltered zxcvbn-go did: plain walks, shifted ones, decorated ones, walks
// on the keypad and dvorak, walks beside words and names, and a few that are
// no walk at all.
var keyboardWalks = []string{
	"qwerty", "qwertyuiop", "Qwerty", "QWERTY", "qwerty123", "Qwerty123!", "qwerty!@#",
	"asdfgh", "asdfghjkl", "Asdfgh1!", "asdfgh;'", "ASDFGH!2",
	"1qaz2wsx", "1qaz2wsx3edc", "!QAZ@WSX", "1qaz@WSX", "!QAZ2wsx#EDC", "1qaz2wsx!", "#1qaz2wsx99",
	"zxcvbnm", "zxcvbnm,./", "ZXCVBNM<>?", "Zxcvbnm1!", "zxcvbnm123!", "!zxcvbnm!",
	"qazwsxedc", "qweasdzxc", "poiuytrewq", "mnbvcxz", "1234qwer", "qwer1234!", "q1w2e3r4t5",
	"Qwerty-Asdfgh-7", "qwertyFootball1", "Football-qwerty", "Jane.asdfgh", "#Ab1qwe",
	"7894561230", "147258369", "159357", "aoeuidhtns", "',.pyfgcrl",
	"1qaz2wsx3edc4rfv!QAZ@WSX", "qwertyuiop[]asdfghjkl;'zx", // longer than the window
	"Siân-qwerty", "£qwerty£", "Xk7#mQ2pLw", "Purple tiger dances at 7 pm", "Kv7#mPq2",
}

// window cuts s to what zxcvbn sees in Check.
func window(s string) string {
	if utf8.RuneCountInString(s) > zxcvbnWindow {
		return string([]rune(s)[:zxcvbnWindow])
	}
	return s
}

func onlySpatial(m match.Matcher) bool { return !matching.FilterSpatialMatcher(m) }

func sortMatches(ms []match.Match) {
	slices.SortFunc(ms, func(a, b match.Match) int {
		return cmp.Or(cmp.Compare(a.I, b.I), cmp.Compare(a.J, b.J), strings.Compare(a.DictionaryName, b.DictionaryName))
	})
}

// The walks found here are the library's own spatial matches, field for
// field and to the last bit of their entropy.
func TestSpatialMatchesAreTheLibrarys(t *testing.T) {
	found := 0
	for _, pw := range keyboardWalks {
		w := window(pw)
		lib := matching.Omnimatch(w, nil, onlySpatial)
		got := spatialMatches(w)
		sortMatches(lib)
		sortMatches(got)
		if !slices.Equal(got, lib) {
			t.Errorf("%q:\n got %+v\nwant %+v", pw, got, lib)
		}
		found += len(got)
	}
	if found < len(keyboardWalks) {
		t.Errorf("only %d walks found in %d inputs: the table no longer tests walking", found, len(keyboardWalks))
	}
}

// Every default policy gives each input the verdict it gave with the
// unfiltered library: same entropy, same score, same refusal.
func TestKeyboardWalkVerdictsAsLibrary(t *testing.T) {
	who := Person{Username: "jsmith42", GivenName: "Jane", FamilyName: "Smith-Okafor"}
	inputs := userInputs(who)
	refused, differsWithoutWalks := 0, 0
	for _, pw := range keyboardWalks {
		w := window(pw)
		lib := zxcvbn.PasswordStrength(w, inputs, leetFilter(w)...)
		got := zxcvbnStrength(w, inputs, leetFilter(w)...)
		if got.Entropy != lib.Entropy || got.Score != lib.Score {
			t.Errorf("%q: entropy %v score %d, library %v score %d", pw, got.Entropy, got.Score, lib.Entropy, lib.Score)
		}
		without := zxcvbn.PasswordStrength(w, inputs, append(leetFilter(w), matching.FilterSpatialMatcher)...)
		if without.Entropy != lib.Entropy {
			differsWithoutWalks++
		}
		for name, p := range DefaultPolicies() {
			libRefuses := decoratedWord(strings.ToLower(pw)) || lib.Score < p.MinScore
			refuses := slices.Contains(codes(p.Check(pw, who)), CodeDictionary)
			if refuses != libRefuses {
				t.Errorf("%s %q: refused %v, with the library %v", name, pw, refuses, libRefuses)
			}
			if name == "staff" && refuses {
				refused++
			}
		}
		t.Logf("%-28q score %d entropy %6.2f", pw, got.Score, got.Entropy)
	}
	// The table must exercise the walk matcher: without it the entropy
	// differs (for a fifth of the inputs at least: the common walks are in
	// the password list too, which scores them lower still), and the staff
	// policy refuses most of them.
	if differsWithoutWalks < len(keyboardWalks)/5 {
		t.Errorf("only %d inputs score differently without walk matching", differsWithoutWalks)
	}
	if refused < len(keyboardWalks)/2 {
		t.Errorf("staff refuses only %d of %d inputs", refused, len(keyboardWalks))
	}
}

// The staff policy refuses the four walks, bare, shifted and
// decorated.
func TestKeyboardWalksRefused(t *testing.T) {
	p := DefaultPolicies()["staff"]
	for _, pw := range []string{
		"qwerty", "asdfgh", "1qaz2wsx", "zxcvbnm",
		"QWERTY", "ASDFGH", "!QAZ@WSX", "ZXCVBNM",
		"Qwerty1!", "#Asdfgh7", "1qaz2wsx!", "Zxcvbnm1!", "qwertyuiop!1", "!QAZ2wsx",
	} {
		if got := codes(p.Check(pw, Person{})); !slices.Contains(got, CodeDictionary) {
			t.Errorf("staff accepts the walk %q: %v", pw, got)
		}
	}
}

// FuzzZxcvbnScore holds the score with walks matched here to the unfiltered
// library's on any input.
func FuzzZxcvbnScore(f *testing.F) {
	for _, pw := range keyboardWalks {
		f.Add(pw, "jsmith42")
	}
	f.Fuzz(func(t *testing.T, pw, user string) {
		w := window(pw)
		var inputs []string
		if user != "" {
			inputs = []string{user}
		}
		lib := zxcvbn.PasswordStrength(w, inputs, leetFilter(w)...)
		got := zxcvbnStrength(w, inputs, leetFilter(w)...)
		if got.Entropy != lib.Entropy || got.Score != lib.Score {
			t.Fatalf("%q: entropy %v score %d, library %v score %d", w, got.Entropy, got.Score, lib.Entropy, lib.Score)
		}
	})
}
