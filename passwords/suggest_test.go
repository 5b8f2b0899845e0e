package passwords

import (
	"errors"
	"strings"
	"testing"
)

// Every built-in policy accepts what Suggest makes for it, for a person
// whose name shares letters with many words; with NoRepeats no suggestion
// has a letter twice in a row.
func TestSuggestPassesEachPolicy(t *testing.T) {
	who := Person{Username: "26otterman", GivenName: "Anna", FamilyName: "Lantern-Rocket"}
	for name, p := range DefaultPolicies() {
		seen := map[string]bool{}
		for range 200 {
			s, err := Suggest(p, who)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if vs := p.Check(s, who); len(vs) > 0 {
				t.Fatalf("%s: suggestion %q breaks the policy: %v", name, s, vs)
			}
			if strings.Count(s, "-") < suggestMinWords {
				t.Fatalf("%s: %q is not words and digits", name, s)
			}
			seen[s] = true
		}
		if len(seen) < 190 {
			t.Errorf("%s: only %d different suggestions in 200", name, len(seen))
		}
		if bits := SuggestBits(p); bits < 30 {
			t.Errorf("%s: suggestions carry %.1f bits", name, bits)
		}
	}
}

// The word list itself holds words with double letters ("otter"): a policy
// with NoRepeats must never be offered them.
func TestSuggestWordsForNoRepeats(t *testing.T) {
	staff := DefaultPolicies()["staff"]
	if !staff.NoRepeats {
		t.Fatal("the staff policy is expected to refuse repeats")
	}
	all, usable := suggestWords(), wordsFor(staff)
	if len(usable) >= len(all) {
		t.Fatalf("no word was left out for NoRepeats (%d of %d)", len(usable), len(all))
	}
	for _, w := range usable {
		if hasRepeat(w) {
			t.Errorf("%q offered under NoRepeats", w)
		}
	}
}

func TestSuggestUnsatisfiable(t *testing.T) {
	p := DefaultPolicies()["staff"]
	p.MaxLength = 12
	if _, err := Suggest(p, Person{}); !errors.Is(err, ErrUnsatisfiable) {
		t.Errorf("12-character maximum: %v", err)
	}
}

// The advice in a "too easy to guess" refusal fits the policy that gives
// it: under NoRepeats it warns off words like "otter", which "three random
// words" alone would invite.
func TestAdviceFitsPolicy(t *testing.T) {
	for name, p := range DefaultPolicies() {
		if p.MinScore == 0 {
			continue
		}
		var msg string
		for _, v := range p.Check("football1!", Person{}) {
			if v.Code == CodeDictionary {
				msg = v.Message
			}
		}
		if msg == "" {
			t.Fatalf("%s: football1! not refused as guessable", name)
		}
		if warns := strings.Contains(msg, "no letter twice in a row"); warns != p.NoRepeats {
			t.Errorf("%s (NoRepeats %v): %q", name, p.NoRepeats, msg)
		}
	}
}
