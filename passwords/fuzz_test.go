package passwords

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

var knownCodes = []string{CodeTooShort, CodeTooLong, CodeUnreadable, CodeClasses, CodeRepeated, CodeUsername, CodeName, CodeDictionary}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"", "Football1!", "P@ssw0rd1", "Kv7£mPqz", "jsmaa", "\xff\x00", "4@3$1!0|7+8(96%2{[<", strings.Repeat("Kv7#mPq2", 33), "Siân-7!x", "Sia\u0302n-7!x", strings.Repeat("e\u0323\u0302", 256)} {
		f.Add(s, "jsmith42", "Jane", "Smith-Okafor")
	}
	p := DefaultPolicies()["staff"]
	f.Fuzz(func(t *testing.T, candidate, user, given, family string) {
		who := Person{Username: user, GivenName: given, FamilyName: family}
		vs := p.Check(candidate, who)
		seen := map[string]bool{}
		for _, v := range vs {
			if !slices.Contains(knownCodes, v.Code) || v.Message == "" {
				t.Fatalf("violation %+v", v)
			}
			if seen[v.Code] {
				t.Fatalf("code %s twice", v.Code)
			}
			seen[v.Code] = true
		}
		counted := candidate
		if readable(candidate) {
			counted = norm.NFC.String(candidate)
		}
		long := utf8.RuneCountInString(counted) > p.MaxLength
		if long != seen[CodeTooLong] || (long && len(vs) != 1) {
			t.Fatalf("%d runes: %v", utf8.RuneCountInString(candidate), codes(vs))
		}
		if !slices.Equal(codes(vs), codes(p.Check(candidate, who))) {
			t.Fatal("Check is not deterministic")
		}
		// Composed or decomposed, the verdict is the same.
		if utf8.ValidString(candidate) {
			nfd := Person{norm.NFD.String(user), norm.NFD.String(given), norm.NFD.String(family)}
			d, c := p.Check(norm.NFD.String(candidate), nfd), p.Check(norm.NFC.String(candidate), who)
			if !slices.Equal(d, c) {
				t.Fatalf("NFD %v, NFC %v", d, c)
			}
		}
	})
}

// cheapToVerify keeps the fuzzer off the legitimately slow corners of the
// parsers (a 1 GiB argon2id, a million sha512-crypt rounds); the parsers run
// on every input regardless.
func cheapToVerify(enc string) bool {
	if a, err := parseArgon2(enc); err == nil {
		return a.Memory <= 1<<12 && a.Iterations <= 2
	}
	if i := strings.Index(enc, "$6$rounds="); i >= 0 {
		c, err := parseSHA512Crypt(enc[i:])
		return err != nil || c.rounds <= 5000
	}
	if i := strings.Index(enc, "$2"); i >= 0 {
		cost, err := bcrypt.Cost([]byte(enc[i:]))
		return err != nil || cost <= 6
	}
	return true
}

func FuzzVerify(f *testing.F) {
	h := &Hasher{Params: testParams}
	argon, _ := h.Hash("secret")
	bc, _ := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	seeds := []string{
		argon, string(bc), "{CRYPT}" + string(bc), glibcVector1, "{CRYPT}" + glibcVector1,
		sha512CryptVectors[6].want,
		"{SSHA}EfPuh7/9ddeKpzeG+d+Ylov4cTrerb7v",
		"{SSHA256}gOTxtOARaY2XSv3HUPstUucQoALexasmfPW5DHc2GMTerb7v",
		"{SSHA512}kyIpdsrB2UF03DzitElS0NGmohog+mUda8e85iz133KrvQqIlqhBs4BNJSgY+ck0UhODqgYSl+u98MN5uyzqtN6tvu8=",
		"", "$", "{", "{CRYPT}", "$6$", "$argon2id$", "$argon2id$v=19$m=64,t=1,p=1$$",
		"{NT}", "$1$", "$5$", "$y$",
	}
	for _, v := range toolVectors {
		seeds = append(seeds, v.hash)
	}
	for _, s := range seeds {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, enc, pw string) {
		// The parsers alone, on everything.
		_, _ = parseArgon2(enc)
		_, _ = parseSHA512Crypt(enc)
		_, _ = verifySSHA(enc, []byte(pw))
		_, _, _ = parseMD5Crypt(enc)
		_, _ = parseSHACrypt(enc, "$5$", 43)
		_, _ = Scheme(enc)
		if !cheapToVerify(enc) {
			return
		}
		ok, rehash, err := h.Verify(enc, pw)
		if err != nil && (ok || rehash) {
			t.Fatalf("error %v with ok=%v rehash=%v", err, ok, rehash)
		}
		if !ok && rehash {
			t.Fatal("rehash without ok")
		}
	})
}

func FuzzParseArgon2RoundTrip(f *testing.F) {
	f.Add(uint32(64), uint32(1), uint8(1), []byte("0123456789abcdef"), []byte("0123456789abcdef0123456789abcdef"))
	f.Fuzz(func(t *testing.T, m, it uint32, p uint8, salt, key []byte) {
		a := argon2Hash{Argon2Params{m, it, p, uint32(len(salt)), uint32(len(key))}, salt, key, false}
		got, err := parseArgon2(a.encode())
		if err != nil {
			if a.Validate() == nil {
				t.Fatalf("valid %+v does not parse: %v", a.Argon2Params, err)
			}
			return
		}
		if got.Argon2Params != a.Argon2Params || string(got.salt) != string(salt) || string(got.key) != string(key) {
			t.Fatalf("round trip %+v -> %+v", a, got)
		}
	})
}

func FuzzParseKeyFile(f *testing.F) {
	f.Add([]byte("# c\nold AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\nnew AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n"))
	f.Add([]byte(""))
	f.Add([]byte("a b c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKeyFile(data)
		if err != nil {
			return
		}
		k2, err := ParseKeyFile(k.KeyFile())
		if err != nil {
			t.Fatalf("KeyFile does not parse back: %v", err)
		}
		if k2.CurrentID() != k.CurrentID() || !slices.Equal(k2.IDs(), k.IDs()) {
			t.Fatalf("round trip %v -> %v", k, k2)
		}
	})
}

func FuzzOpen(f *testing.F) {
	k, _ := NewKeyring("a", map[string][]byte{"a": key(1), "b": key(2)})
	s, _ := k.Seal([]byte("secret"), []byte("ad"))
	for _, seed := range []string{s, "", "ks1:", "ks1:a:", "ks1:b:AAAA", "ks1:zz:" + strconv.Itoa(42)} {
		f.Add(seed, []byte("ad"))
	}
	f.Fuzz(func(t *testing.T, sealed string, ad []byte) {
		pt, err := k.Open(sealed, ad)
		if err == nil && (string(ad) != "ad" || string(pt) != "secret") {
			// Only the seeds sealed under this ring open (each worker
			// process seals its own, so compare contents, not strings):
			// anything else opening is a forgery of GCM or a bug here.
			t.Fatalf("opened a value not sealed here: %q", sealed)
		}
		_, _ = SealedKeyID(sealed)
	})
}
