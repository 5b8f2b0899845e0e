package passwords

import (
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestMD4RFC1320(t *testing.T) {
	// The test suite of RFC 1320, appendix A.5.
	for _, v := range []struct{ in, want string }{
		{"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
		{"a", "bde52cb31de33e46245e05fbdbd6fb24"},
		{"abc", "a448017aaf21d8525fc10ae87aa6729d"},
		{"message digest", "d9130a8164549fe818874806e1c7014b"},
		{"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"},
		{strings.Repeat("1234567890", 8), "e33b4ddc9c38f2199c3e7b164fcc0536"},
	} {
		sum := md4([]byte(v.in))
		if got := hex.EncodeToString(sum[:]); got != v.want {
			t.Errorf("md4(%q) = %s, want %s", v.in, got, v.want)
		}
	}
}

func TestNTHash(t *testing.T) {
	for _, v := range []struct{ in, want string }{
		// RFC 2759 section 9.2: NtPasswordHash("clientPass").
		{"clientPass", "44ebba8d5312b8d611474411f56989ae"},
		{"password", "8846f7eaee8fb117ad06bdd830b7586c"},
		{"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
		// Outside the BMP and Latin-1, checked with
		// printf 'P\0\xa3\0\x3d\xd8\x00\xde' | openssl dgst -md4 -provider legacy
		{"P£😀", "34691f83aa905d8b38eb9d1700d53f82"},
	} {
		if got := hex.EncodeToString(NTHash(v.in)); got != v.want {
			t.Errorf("NTHash(%q) = %s, want %s", v.in, got, v.want)
		}
	}
}

var lookAlikes = "0O1lIo"

func TestGenerateWiFi(t *testing.T) {
	shape := regexp.MustCompile(`^[a-km-np-z2-9]{5}(-[a-km-np-z2-9]{5}){2}$`)
	for name, p := range DefaultPolicies() {
		if bits := WiFiBits(p); bits < 60 {
			t.Errorf("%s: %.1f bits, want at least 60", name, bits)
		}
		seen := map[string]bool{}
		for range 200 {
			c, err := GenerateWiFi(p)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if vs := p.Check(c, Person{}); vs != nil {
				t.Errorf("%s: %q fails its policy: %v", name, c, codes(vs))
			}
			if strings.ContainsAny(c, lookAlikes) {
				t.Errorf("%s: %q has a look-alike", name, c)
			}
			if !shape.MatchString(c) {
				t.Errorf("%s: %q is not three groups of five", name, c)
			}
			if hasRepeat(c) {
				t.Errorf("%s: %q repeats a character", name, c)
			}
			if seen[c] {
				t.Errorf("%s: %q generated twice", name, c)
			}
			seen[c] = true
		}
	}
}

func TestGenerateWiFiFollowsPolicy(t *testing.T) {
	four := Policy{Name: "four", MinLength: 20, MinClasses: 4, NoRepeats: true, MinScore: 3}
	c, err := GenerateWiFi(four)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) < 20 || strings.Count(c, "-") != 3 || strings.ContainsAny(c, lookAlikes) {
		t.Errorf("%q: want 4 groups, no look-alikes", c)
	}
	if classes(c) != 4 {
		t.Errorf("%q has %d classes", c, classes(c))
	}
	if bits := WiFiBits(four); bits < 100 {
		t.Errorf("4 groups of 56 symbols: %.1f bits", bits)
	}
	if _, err := GenerateWiFi(Policy{Name: "tiny", MaxLength: 10}); err == nil {
		t.Error("MaxLength 10 cannot fit a credential, want an error")
	}
}

// The draw must use the whole alphabet: over many credentials every symbol
// appears, and none outside it.
func TestGenerateWiFiAlphabet(t *testing.T) {
	p := DefaultPolicies()["staff"]
	counts := map[rune]int{}
	for range 300 {
		c, err := GenerateWiFi(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range strings.ReplaceAll(c, "-", "") {
			counts[r]++
		}
	}
	alphabet := wifiAlphabet(p)
	for _, r := range alphabet {
		if counts[r] == 0 {
			t.Errorf("symbol %q never drawn in 4500", r)
		}
	}
	for r := range counts {
		if !strings.ContainsRune(alphabet, r) {
			t.Errorf("symbol %q outside the alphabet", r)
		}
	}
	if got := len(alphabet); got != 32 || slices.Contains([]byte(alphabet), 'o') {
		t.Errorf("alphabet %q", alphabet)
	}
}
