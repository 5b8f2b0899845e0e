package passwords

import (
	"strings"
	"testing"

	zxcvbn "github.com/nbutton23/zxcvbn-go"
	"github.com/nbutton23/zxcvbn-go/matching"
)

// The finding behind rule 5: zxcvbn-go alone already scores the policy's two
// examples 0 (it matches "football" and, through l33t, "password" in its
// common-password list, and reads the "1" and "!" as l33t "i"). If an update
// of the library changed that, decoratedWord would still refuse them, and
// this test says so.
func TestZxcvbnScoresPolicyExamples(t *testing.T) {
	for _, pw := range []string{"Football1!", "P@ssw0rd1"} {
		if s := zxcvbn.PasswordStrength(pw, nil).Score; s >= DefaultMinScore {
			t.Errorf("zxcvbn scores %q %d: only decoratedWord refuses it now", pw, s)
		}
	}
}

func TestDecoratedWord(t *testing.T) {
	tests := []struct {
		pw   string
		want bool
	}{
		{"Football1!", true},
		{"P@ssw0rd1", true},
		{"#Sunshine42!", true},
		{"Fr1end5hip!", true},  // 1 as i, 5 as s
		{"Basketba11!", true},  // 1 as l
		{"1234Elephant", true}, // decoration in front
		{"P@$$w0rd!%2(", true}, // too many l33t characters for zxcvbn's matcher
		{"Photosynthesis2#", false},
		{"Cat1!", false},          // shorter than minWordLen: left to zxcvbn
		{"Red4Tiger!", false},     // two words
		{"Foot-ball7", false},     // not one word
		{"kq7mx-3tazr", false},    // not a word
		{"Elephant7Zebra", false}, // two words
	}
	for _, tt := range tests {
		if got := decoratedWord(strings.ToLower(tt.pw)); got != tt.want {
			t.Errorf("decoratedWord(%q) = %v, want %v", tt.pw, got, tt.want)
		}
	}
}

// With more than leetLimit distinct l33t characters zxcvbn's l33t matcher is
// skipped, and a disguised word is left to decoratedWord.
func TestLeetHeavyWordRefused(t *testing.T) {
	const pw = "P@$$w0rd!%2("
	if distinctLeet(pw) <= leetLimit {
		t.Fatalf("%q has %d distinct l33t characters, want more than %d", pw, distinctLeet(pw), leetLimit)
	}
	t.Logf("zxcvbn without l33t scores %q %d", pw, zxcvbn.PasswordStrength(pw, nil, matching.FilterL33tMatcher).Score)
	p := Policy{MinScore: 3}
	if vs := p.Check(pw, Person{}); len(vs) != 1 || vs[0].Code != CodeDictionary {
		t.Errorf("Check(%q) = %v, want [dictionary]", pw, codes(vs))
	}
}

// zxcvbn sees the first zxcvbnWindow runes: a strong start passes whatever
// follows, a weak start is refused however strong the rest.
func TestZxcvbnWindow(t *testing.T) {
	p := Policy{MinScore: 3}
	strong := "Xk7#mQ2pLw9$Rt4&Vb8*Nc3!" // 24 runes
	if n := len([]rune(strong)); n != zxcvbnWindow {
		t.Fatalf("strong start has %d runes, window is %d", n, zxcvbnWindow)
	}
	if vs := p.Check(strong+"monkey", Person{}); vs != nil {
		t.Errorf("strong start, weak end: %v", codes(vs))
	}
	weak := strings.Repeat("a", 24) + "Xk7#mQ2pLw9$Rt4&Vb8*Nc3!"
	if vs := p.Check(weak, Person{}); len(vs) != 1 || vs[0].Code != CodeDictionary {
		t.Errorf("weak start, strong end: %v, want [dictionary]", codes(vs))
	}
}

// The person's names are zxcvbn user inputs, so a name buried in an
// otherwise fair password lowers the score even when FragmentLen is off.
func TestUserInputsLowerScore(t *testing.T) {
	p := Policy{MinScore: 3}
	who := Person{Username: "okonkwo.adaeze", GivenName: "Adaeze", FamilyName: "Okonkwo"}
	pw := "Okonkwo-Adaeze7"
	if vs := p.Check(pw, Person{}); vs != nil {
		t.Fatalf("without user inputs %q is refused (%v): pick another example", pw, codes(vs))
	}
	if vs := p.Check(pw, who); len(vs) != 1 || vs[0].Code != CodeDictionary {
		t.Errorf("with user inputs: %v, want [dictionary]", codes(vs))
	}
}
