package passwords

import (
	"crypto/sha1"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// "Siân" as a phone sends it (â one code point, NFC) and as some desktop
// keyboards and macOS file dialogs do (a, then a combining circumflex: NFD).
const (
	sianNFC = "Si\u00e2n"
	sianNFD = "Sia\u0302n"
)

func TestSianFixture(t *testing.T) {
	if sianNFC == sianNFD || norm.NFC.String(sianNFD) != sianNFC || norm.NFD.String(sianNFC) != sianNFD {
		t.Fatal("the fixtures are not the two forms of one word")
	}
}

// A password hashed from either form verifies from either form, and asks
// for no rehash: Hash stores NFC.
func TestVerifyEitherForm(t *testing.T) {
	h := &Hasher{Params: testParams}
	for _, typed := range []string{sianNFC, sianNFD} {
		enc, err := h.Hash(typed + "-Tiger-7!")
		if err != nil {
			t.Fatal(err)
		}
		for _, again := range []string{sianNFC, sianNFD} {
			ok, rehash, err := h.Verify(enc, again+"-Tiger-7!")
			if err != nil || !ok || rehash {
				t.Errorf("hashed %+q, verified %+q: %v %v %v, want true false nil", typed, again, ok, rehash, err)
			}
		}
		if ok, _, _ := h.Verify(enc, "Sian-Tiger-7!"); ok {
			t.Errorf("hashed %+q: verifies without the accent", typed)
		}
	}
}

// A hash made elsewhere from decomposed input still verifies when typed the
// same way, through the second try, and is then upgraded; the composed
// form cannot match it (nothing in the hash says how it was typed).
func TestVerifyImportedNonNFC(t *testing.T) {
	h := &Hasher{Params: testParams}
	pw := sianNFD + "-Tiger-7!"
	argonRaw := argon2Hash{Argon2Params: testParams, salt: []byte("0123456789abcdef")}
	argonRaw.key = argon2.IDKey([]byte(pw), argonRaw.salt, 1, 64, 1, 32)
	for name, enc := range map[string]string{
		"argon2id":     argonRaw.encode(),
		"sha512-crypt": sha512Crypt([]byte(pw), []byte("saltstring"), sha512CryptDefaultRounds, false),
		"ssha":         sshaOf("{SSHA}", sha1.New, pw, []byte("8bytesal")),
	} {
		ok, rehash, err := h.Verify(enc, pw)
		if err != nil || !ok || !rehash {
			t.Errorf("%s: typed as hashed: %v %v %v, want true true nil", name, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(enc, norm.NFC.String(pw))
		if err != nil || ok || rehash {
			t.Errorf("%s: typed composed: %v %v %v, want false false nil", name, ok, rehash, err)
		}
		// The upgrade Authenticate stores then verifies both ways.
		up, err := h.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		for _, typed := range []string{pw, norm.NFC.String(pw)} {
			if ok, rehash, err := h.Verify(up, typed); err != nil || !ok || rehash {
				t.Errorf("%s upgraded, typed %+q: %v %v %v", name, typed, ok, rehash, err)
			}
		}
	}
}

func TestVerifyForms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Kv7#mPq2", []string{"Kv7#mPq2"}},
		{sianNFC, []string{sianNFC}},
		{sianNFD, []string{sianNFC, sianNFD}},
		{"", []string{""}},
	}
	for _, tt := range tests {
		forms, err := verifyForms(tt.in)
		var got []string
		for _, f := range forms {
			got = append(got, string(f))
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("verifyForms(%+q) = %+q %v, want %+q", tt.in, got, err, tt.want)
		}
	}
	// 256 Vietnamese letters typed decomposed are 1280 bytes, 768 in NFC:
	// within bounds, tried composed only, since no earlier Verify took the
	// typed form.
	viet := strings.Repeat("e\u0323\u0302", 256)
	forms, err := verifyForms(viet)
	if err != nil || len(forms) != 1 || string(forms[0]) != strings.Repeat("\u1ec7", 256) {
		t.Errorf("256 decomposed Vietnamese letters: %d forms, %v", len(forms), err)
	}
	h := &Hasher{Params: testParams}
	enc, err := h.Hash(viet)
	if err != nil {
		t.Fatalf("Hash of 256 decomposed letters: %v", err)
	}
	if ok, _, err := h.Verify(enc, norm.NFC.String(viet)); !ok || err != nil {
		t.Errorf("Verify composed: %v %v", ok, err)
	}
}

// allocated is how many bytes f allocates: argon2id allocates its memory
// parameter on every computation, so this counts hashes without timing.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// DummyVerify does the work a failed Verify does, for composed and for
// decomposed input alike: one argon2id computation for NFC, two otherwise.
func TestDummyVerifyParityNFD(t *testing.T) {
	const mib = 1024 // KiB
	h := &Hasher{Params: Argon2Params{Memory: 4 * mib, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}
	enc, err := h.Hash("Correct-horse-7")
	if err != nil {
		t.Fatal(err)
	}
	const hash = 4 << 20 // bytes one computation allocates
	for _, pw := range []string{sianNFC + "-wrong-7", sianNFD + "-wrong-7"} {
		hashes := uint64(len(must(verifyForms(pw))))
		verify := allocated(func() {
			if ok, _, err := h.Verify(enc, pw); ok || err != nil {
				t.Fatalf("Verify(wrong) = %v %v", ok, err)
			}
		})
		dummy := allocated(func() { h.DummyVerify(pw) })
		for name, got := range map[string]uint64{"Verify": verify, "DummyVerify": dummy} {
			if got < hashes*hash || got > hashes*hash+hash/2 {
				t.Errorf("%+q: %s allocated %d bytes, want about %d argon2id computations (%d bytes)", pw, name, got, hashes, hashes*hash)
			}
		}
	}
	// Input too long to verify costs nothing on either path.
	long := strings.Repeat("x", MaxPasswordBytes+1)
	if got := allocated(func() { h.DummyVerify(long) }); got >= hash {
		t.Errorf("DummyVerify of a refused length allocated %d bytes", got)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Rules count and compare characters in NFC: "Siân" typed either way gets
// one verdict, counted in composed characters.
func TestCheckEitherForm(t *testing.T) {
	p := staff(t)
	tests := []struct {
		name string
		pw   func(sian string) string
		who  Person
		want []string
	}{
		{"passes", func(s string) string { return s + "-Tiger-7!" }, Person{}, nil},
		// 7 characters composed, 8 code points decomposed.
		{"too short in characters", func(s string) string { return s + "-7!" }, Person{}, []string{"too-short"}},
		// A combining mark is not a symbol: two classes, not three.
		{"no symbol from a combining mark", func(s string) string { return strings.ToLower(s) + "tiger92" }, Person{}, []string{"classes"}},
		{"given name typed the other way", func(s string) string { return "Kv7#" + s + "q2" }, Person{GivenName: sianNFC}, []string{"name"}},
		{"given name stored decomposed", func(s string) string { return "Kv7#" + s + "q2" }, Person{GivenName: sianNFD}, []string{"name"}},
	}
	for _, tt := range tests {
		for _, sian := range []string{sianNFC, sianNFD} {
			vs := p.Check(tt.pw(sian), tt.who)
			if got := codes(vs); !slices.Equal(got, tt.want) {
				t.Errorf("%s, typed %+q: %v, want %v", tt.name, sian, got, tt.want)
			}
		}
		if a, b := p.Check(tt.pw(sianNFC), tt.who), p.Check(tt.pw(sianNFD), tt.who); !slices.Equal(a, b) {
			t.Errorf("%s: messages differ:\n%v\n%v", tt.name, a, b)
		}
	}
	// MaxLength counts composed characters too: 8 of them in 9 code points.
	short := Policy{MaxLength: 8}
	if got := codes(short.Check(sianNFD+"-7!x", Person{})); got != nil {
		t.Errorf("8 characters typed as 9 code points: %v", got)
	}
	// 11 characters in 33 code points are too long, however they compose.
	if got := codes(short.Check(strings.Repeat("e\u0323\u0302", 11), Person{})); !slices.Equal(got, []string{"too-long"}) {
		t.Errorf("33 code points: %v", got)
	}
}
