package passwords

import (
	"strings"
	"testing"
)

// A first password passes every built-in policy for the person and has no
// character that reads as another on paper.
func TestFirstPasswordTypable(t *testing.T) {
	who := Person{Username: "asmith", GivenName: "Alice", FamilyName: "Smith"}
	for name, p := range DefaultPolicies() {
		for range 300 {
			pw, err := FirstPassword(p, who)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if vs := p.Check(pw, who); len(vs) > 0 {
				t.Fatalf("%s: %q breaks %v", name, pw, vs)
			}
			if strings.ContainsAny(pw, "IO01") {
				t.Fatalf("%s: %q has a look-alike character", name, pw)
			}
		}
	}
}
