package passwords

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func staff(t *testing.T) Policy {
	t.Helper()
	p, ok := DefaultPolicies()["staff"]
	if !ok {
		t.Fatal("no staff policy")
	}
	return p
}

func codes(vs []Violation) []string {
	var cs []string
	for _, v := range vs {
		cs = append(cs, v.Code)
	}
	return cs
}

var jane = Person{Username: "jsmith42", GivenName: "Jane", FamilyName: "Smith-Okafor"}

// Each case is one rule of the school's policy, quoted, with the examples it
// gives. want is the exact list of codes, in Check's order.
func TestCheckStaffRules(t *testing.T) {
	p := staff(t)
	tests := []struct {
		name      string
		candidate string
		who       Person
		want      []string
	}{
		// "at least eight characters (count characters, not bytes: £ is one)"
		{"eight characters pass", "Kv7#mPq2", Person{}, nil},
		{"seven characters fail", "Kv7#mPq", Person{}, []string{"too-short"}},
		{"£ is one character: seven runes in eight bytes fail", "Kv7£mPq", Person{}, []string{"too-short"}},
		{"£ is one character: eight runes pass", "Kv7£mPqz", Person{}, nil},

		// "characters from at least three of the four classes"
		{"upper lower digit", "Kv7wmPq2Xr", Person{}, nil},
		{"upper lower special", "Kv#wmPq&Xr", Person{}, nil},
		{"lower digit special", "kv7#mpq2&r", Person{}, nil},
		{"upper digit special", "KV7#MPQ2&R", Person{}, nil},
		{"only lower and upper", "KvTwmPqYXr", Person{}, []string{"classes"}},
		{"only lower and digits", "kv7wmp92xr", Person{}, []string{"classes"}},
		{"£ is special", "kv7£mpq2xr", Person{}, nil},
		{"every other non-alphanumeric is special: space", "kv7 mpq2xr", Person{}, nil},
		{"every other non-alphanumeric is special: quote", "kv7\"mpq2xr", Person{}, nil},
		{"every other non-alphanumeric is special: emoji", "kv7🙂mpq2xr", Person{}, nil},
		{"a non-ASCII digit is not 0-9", "kvqwmpXTxr٣", Person{}, []string{"classes"}},

		// "never two identical characters in a row (aa, 11, !!)"
		{"aa", "Kv7#maaPq2", Person{}, []string{"repeated"}},
		{"11", "Kv7#m11Pq2", Person{}, []string{"repeated"}},
		{"!!", "Kv7#m!!Pq2", Person{}, []string{"repeated"}},
		{"££", "Kv7#m££Pq2", Person{}, []string{"repeated"}},
		{"aA is not a repeat", "Kv7#maAPq2", Person{}, nil},
		{"same character apart is fine", "Kv7#mKvPq2", Person{}, nil},

		// "no run of three or more consecutive characters of the username,
		// compared without regard to case"
		{"username run of three", "Kv7#JSMqz2", jane, []string{"username"}},
		{"username run of three, other case", "Kv7#smiqz2", Person{Username: "jsmith42"}, []string{"username"}},
		{"username run of three with its digits", "Kv7#h42pqz", Person{Username: "jsmith42"}, []string{"username"}},
		{"username run of two is fine", "Kv7#jsqzX2", Person{Username: "jsmith42"}, nil},
		{"username chars not consecutive are fine", "Kv7#jmsqX2", Person{Username: "jsmith42"}, nil},
		{"username shorter than three forbids nothing", "Kv7#jsqzX2", Person{Username: "js"}, nil},

		// "likewise no part of the person's given or family name of three or
		// more characters"
		{"given name run of three", "Kv7#ANEqz2", Person{GivenName: "Jane"}, []string{"name"}},
		{"family name run of three", "Kv7#kafqz2", Person{FamilyName: "Smith-Okafor"}, []string{"name"}},
		{"family name: runs do not cross the hyphen", "Kv7#h-oqz2", Person{FamilyName: "Smith-Okafor"}, nil},
		{"name of two letters forbids nothing", "Kv7#boqz2X", Person{GivenName: "Bo"}, nil},
		{"username and name both reported", "Kv7#jsmJAN", jane, []string{"username", "name"}},

		// "a word with capitals, digits or symbols stuck on (Football1!,
		// P@ssw0rd1) is still refused"
		// (both also double a letter: "ll", "ss")
		{"Football1!", "Football1!", Person{}, []string{"repeated", "dictionary"}},
		{"P@ssw0rd1", "P@ssw0rd1", Person{}, []string{"repeated", "dictionary"}},
		{"a football club with decoration", "Chelsea1!", Person{}, []string{"dictionary"}},
		{"P@ssw0rd1 without repeats", "P@sw0rd1", Person{}, []string{"dictionary"}},
		{"word with capitals and digit", "ELEPHANT7$", Person{}, []string{"dictionary"}},
		{"word with symbols both ends", "#Sunshine42!", Person{}, []string{"dictionary"}},
		{"de-leeted word with l for 1", "Fr1end5hip!", Person{}, []string{"dictionary"}},
		{"plain lower word", "elephant", Person{}, []string{"classes", "dictionary"}},
		{"passphrase passes", "Purple tiger dances at 7 pm", Person{}, nil},
		{"random passes", "Xk7#mQ2pLw", Person{}, nil},

		// Everything broken at once, in Check's order.
		{"all at once", "jsmaa", jane, []string{"too-short", "classes", "repeated", "username", "dictionary"}},

		// Input that cannot be typed the same way twice.
		{"NUL", "Kv7#m\x00Pq2", Person{}, []string{"unreadable"}},
		{"newline", "Kv7#m\nPq2", Person{}, []string{"unreadable"}},
		{"invalid UTF-8", "Kv7#m\xffPq2", Person{}, []string{"unreadable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codes(p.Check(tt.candidate, tt.who))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Check(%q) = %v, want %v", tt.candidate, got, tt.want)
			}
		})
	}
}

// "Input longer than 256 characters is refused with its own code": counted in
// runes, and nothing else is reported however broken the rest is.
func TestCheckTooLong(t *testing.T) {
	p := staff(t)
	ok256 := strings.Repeat("Kv7#mPq2", 32)
	if got := codes(p.Check(ok256, Person{})); got != nil {
		t.Errorf("256 characters: %v, want none", got)
	}
	if got := codes(p.Check(ok256+"x", Person{})); !slices.Equal(got, []string{"too-long"}) {
		t.Errorf("257 characters: %v, want [too-long]", got)
	}
	pounds := strings.Repeat("£a", 128) // 256 runes, 384 bytes
	if got := codes(p.Check(pounds, Person{})); slices.Contains(got, "too-long") {
		t.Errorf("256 runes in 384 bytes: %v, want no too-long", got)
	}
	huge := strings.Repeat("a", 1<<20)
	if got := codes(p.Check(huge, Person{Username: "aaa"})); !slices.Equal(got, []string{"too-long"}) {
		t.Errorf("1 MiB: %v, want [too-long] alone", got)
	}
	short := Policy{MaxLength: 10}
	if got := codes(short.Check("Kv7#mPq2Xr1", Person{})); !slices.Equal(got, []string{"too-long"}) {
		t.Errorf("MaxLength 10, 11 characters: %v", got)
	}
	if got := codes(Policy{}.Check(ok256+"x", Person{})); !slices.Equal(got, []string{"too-long"}) {
		t.Errorf("zero MaxLength must mean 256: %v", got)
	}
}

func TestCheckMessages(t *testing.T) {
	p := staff(t)
	vs := p.Check("Ab1!cd", Person{})
	if len(vs) == 0 || vs[0].Code != "too-short" {
		t.Fatalf("got %v", vs)
	}
	if want := "Your password needs at least 8 characters. It has 6."; vs[0].Message != want {
		t.Errorf("message %q, want %q", vs[0].Message, want)
	}
	vs = p.Check("abcdefgh", Person{})
	i := slices.IndexFunc(vs, func(v Violation) bool { return v.Code == "classes" })
	if i < 0 || !strings.Contains(vs[i].Message, "at least 3 of these 4") || !strings.HasSuffix(vs[i].Message, "It has 1.") {
		t.Errorf("classes message: %+v", vs)
	}
	// Messages never quote the password.
	secret := "jsmQQxyz"
	for _, v := range p.Check(secret, Person{Username: "jsmith"}) {
		if strings.Contains(v.Message, "jsm") || strings.Contains(v.Message, "QQ") {
			t.Errorf("message quotes the password: %q", v.Message)
		}
		if v.Message == "" {
			t.Errorf("code %s has no message", v.Code)
		}
	}
}

func TestZeroFieldsSwitchRulesOff(t *testing.T) {
	p := Policy{Name: "none"}
	if got := p.Check("aa", Person{Username: "aaa"}); got != nil {
		t.Errorf("zero policy refused %v", codes(got))
	}
}

func TestDefaultPolicies(t *testing.T) {
	ps := DefaultPolicies()
	for _, name := range []string{"staff", "pupil-ks2", "pupil-ks1", "guest"} {
		p, ok := ps[name]
		if !ok {
			t.Fatalf("no %s policy", name)
		}
		if p.Name != name {
			t.Errorf("%s: Name %q", name, p.Name)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	s := ps["staff"]
	want := Policy{Name: "staff", MinLength: 8, MaxLength: 256, MinClasses: 3, NoRepeats: true, FragmentLen: 3, MinScore: 3, History: 5}
	if s != want {
		t.Errorf("staff = %+v, want %+v", s, want)
	}
	ks1, ks2 := ps["pupil-ks1"], ps["pupil-ks2"]
	if ks1.MinLength > ks2.MinLength || ks1.MinClasses > ks2.MinClasses || ks1.MinScore > ks2.MinScore {
		t.Errorf("ks1 %+v is not gentler than ks2 %+v", ks1, ks2)
	}
	// A ks1 child's word and number passes ks1 but not staff.
	if got := ks1.Check("tiger7bus", Person{}); got != nil {
		t.Errorf("ks1 refused tiger7bus: %v", codes(got))
	}
	if got := s.Check("tiger7bus", Person{}); got == nil {
		t.Error("staff accepted tiger7bus")
	}
	// Football1! is refused by every default policy.
	for name, p := range ps {
		if got := codes(p.Check("Football1!", Person{})); !slices.Contains(got, "dictionary") {
			t.Errorf("%s accepted Football1!: %v", name, got)
		}
	}
	ps["staff"] = Policy{}
	if DefaultPolicies()["staff"] != want {
		t.Error("DefaultPolicies shares its map")
	}
}

func TestValidate(t *testing.T) {
	bad := Policy{Name: "bad", MinLength: 300, MinClasses: 5, MinScore: 7, History: -1}
	err := bad.Validate()
	if !errors.Is(err, ErrBadPolicy) {
		t.Fatalf("err = %v, want ErrBadPolicy", err)
	}
	for _, want := range []string{"min length 300", "min classes 5", "min score 7", "history"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not report %q", err, want)
		}
	}
}

func TestCheckHistory(t *testing.T) {
	h := &Hasher{Params: testParams}
	p := staff(t)
	p.History = 2
	var prev []string // newest first
	for _, pw := range []string{"Newest#1x", "Second#2x", "Third#3xy"} {
		enc, err := h.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		prev = append(prev, enc)
	}
	prev = append([]string{"not a hash"}, prev...) // skipped, never matches

	tests := []struct {
		candidate string
		want      []string
	}{
		{"Newest#1x", []string{"reused"}},
		{"Second#2x", nil}, // third entry once the broken one counts: beyond History 2
		{"Brand#new9", nil},
	}
	for _, tt := range tests {
		got := codes(p.CheckHistory(tt.candidate, prev, h))
		if !slices.Equal(got, tt.want) {
			t.Errorf("CheckHistory(%q) = %v, want %v", tt.candidate, got, tt.want)
		}
	}
	p.History = 3
	if got := codes(p.CheckHistory("Second#2x", prev, h)); !slices.Equal(got, []string{"reused"}) {
		t.Errorf("History 3: %v, want [reused]", got)
	}
	p.History = 0
	if got := p.CheckHistory("Newest#1x", prev, h); got != nil {
		t.Errorf("History 0: %v", got)
	}
	// Imported schemes count as history too.
	p.History = 1
	if got := codes(p.CheckHistory("Hello world!", []string{glibcVector1}, h)); !slices.Equal(got, []string{"reused"}) {
		t.Errorf("sha512-crypt history: %v", got)
	}
}
