package passwords

import (
	"errors"
	"strings"
	"testing"
)

// yescrypt vectors made by libxcrypt on Debian: mkpasswd (package whois),
// and for p > 1, which mkpasswd cannot ask for, crypt(3) itself through
// python3 ctypes (libcrypt.so.1) with the setting shown. Each verifies as
// stored and under {CRYPT}, and a wrong password does not.
var yescryptVectors = []struct {
	tool, password, hash string
}{
	{"mkpasswd -m yescrypt (Debian's default, -R 5: N=4096, r=32)", "Correct-Horse7", "$y$j9T$5SpuLexvi56fUP1nv5xcH.$Wia2TvjIB2udADyZGYpeF6FNnad8I9yHyTL3Wo23B00"},
	{"mkpasswd -m yescrypt", "Correct-Horse7", "$y$j9T$ZazdbdH8DD9RQ2hmXuTtM1$rdu9oXK7aDK.eQYjGi3XzJiR55aXg2ZhwLkVGEtfQ33"},
	{"mkpasswd -m yescrypt", "Siân-7!x", "$y$j9T$Ho/lk2SyrMwrNb8l9uC0t0$1qsaryyhhABSAKAia.VCTk8MGhLlGUvAQtywwzf3Ai."},
	{"mkpasswd -m yescrypt", "a", "$y$j9T$/q00.peE1HLrlG6yBPtUp/$jtM7CxxL22BKXsqHypWtrtwg6iruXe/iT8Ix1jyv4M0"},
	{"mkpasswd -m yescrypt -R 1 (N=1024, r=8: no pre-hash)", "é", "$y$j75$lrR3Ku7N718BsQUFIbkln1$jImh23cBhbl3EEkOO5MvEPA4l67MdSZYpql4Ai8Gdx."},
	{"mkpasswd -m yescrypt -R 1", "pw", "$y$j75$MYL3FlQJ1X.dLmUMFOkaI/$fh66hR1B5UOLGV4t412ZF6.xVqK3RQ053vAIlFb05x2"},
	{"mkpasswd -m yescrypt -R 3 (N=2048, r=32)", "Correct-Horse7", "$y$j7T$eB2c.NmdQIAtorqBLmeSY/$A92iCxtPRp4DBdbucxPnoGn.noo1yBX.Mlxvy2kYNh5"},
	{"mkpasswd -m yescrypt -R 7 (N=16384, r=32: 64 MiB)", "Correct-Horse7", "$y$jBT$6bR2aDVBOCZSxsz0yfJuQ/$MOYeIbT318U6wyVcN9eA/xrwk5RZbKcdg3Z.pNSfE10"},
	{"crypt(3) setting $y$j9T./$R0xSVVOUboxu2ZChxgBgn. (p=3)", "Correct-Horse7", "$y$j9T./$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4"},
	{"crypt(3) setting $y$j85..$R0xSVVOUboxu2ZChxgBgn. (N=512, r=8, p=2)", "Correct-Horse7", "$y$j85..$R0xSVVOUboxu2ZChxgBgn.$DpXq5zhASzMIp0VG6bjV9ui2rSuOeQSPATf7HP7Sht9"},
	{"crypt(3) setting $y$j85$ (empty salt)", "Correct-Horse7", "$y$j85$$ZRvETcN7Oq7HNYxcRyWMTxEOCwDlAyPHEtqFAXDPQ/1"},
}

func TestYescryptVectors(t *testing.T) {
	h := &Hasher{Params: testParams}
	for _, v := range yescryptVectors {
		for _, enc := range []string{v.hash, "{crypt}" + v.hash} {
			ok, rehash, err := h.Verify(enc, v.password)
			if err != nil || !ok || !rehash {
				t.Errorf("%s %q: Verify = %v, %v, %v; want true, true (upgrade), nil", v.tool, enc, ok, rehash, err)
			}
			if s, err := Scheme(enc); s != SchemeYescrypt || err != nil {
				t.Errorf("%s: Scheme = %q, %v", v.tool, s, err)
			}
		}
		wrong := v.password + "x"
		if v.password == "a" {
			wrong = "" // the empty password, for the one-letter one
		}
		if ok, _, err := h.Verify("{CRYPT}"+v.hash, wrong); ok || err != nil {
			t.Errorf("%s: wrong password %q = %v, %v", v.tool, wrong, ok, err)
		}
	}
}

// yescrypt, Debian's default crypt since bullseye, verifies; a hash whose
// parameters ask for more than MaxYescryptMemory (or that libxcrypt never
// writes) is refused with the reason before anything is allocated, never a
// silent mismatch.
func TestYescryptRefusedWithReason(t *testing.T) {
	h := &Hasher{Params: testParams}
	enc := "$y$j9T$ZazdbdH8DD9RQ2hmXuTtM1$rdu9oXK7aDK.eQYjGi3XzJiR55aXg2ZhwLkVGEtfQ33" // mkpasswd -m yescrypt Correct-Horse7
	for _, e := range []string{enc, "{CRYPT}" + enc} {
		if ok, rehash, err := h.Verify(e, "Correct-Horse7"); !ok || !rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want true, true, nil", e, ok, rehash, err)
		}
		if s, err := Scheme(e); s != SchemeYescrypt || err != nil {
			t.Errorf("Scheme(%q) = %q, %v", e, s, err)
		}
	}
	for _, e := range []string{
		"$y$jFT$EfMmZFZXld95thHfxVumm/$We/KDbQvJy0DoYtfwxBZPv35j49u5ePAu/.5CfasgR.",   // mkpasswd -m yescrypt -R 11 Correct-Horse7: 1 GiB
		"$y$jET$tdrZ6VoXVT1zH3p/F1QuG1$HcC1t4Ce6hnPpgXnqP9TcYehRLJ.o3X3IkKnsq3xqF9",   // mkpasswd -m yescrypt -R 10 x: 512 MiB
		"$y$jbT$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4",   // N=2^40
		"$y$j9rz$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4",  // r=560: 280 MiB
		"$y$j9T.j$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4", // p=49
		"$y$j9T/3$R0xSVVOUboxu2ZChxgBgn.$md70OH4u.SZBmV1hpJWpmm41pkaUN638olIxljUHML2", // t=5 (crypt(3) setting $y$j9T/3$…)
		"$y$/9T$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4",   // classic scrypt flavour
	} {
		for _, x := range []string{e, "{CRYPT}" + e} {
			if ok, _, err := h.Verify(x, "Correct-Horse7"); ok || !errors.Is(err, ErrYescrypt) || !errors.Is(err, ErrUnsupportedHash) {
				t.Errorf("Verify(%q) = %v, %v; want ErrYescrypt", x, ok, err)
			}
			if s, err := Scheme(x); s != SchemeYescrypt || !errors.Is(err, ErrYescrypt) {
				t.Errorf("Scheme(%q) = %q, %v", x, s, err)
			}
		}
	}
	// The largest mkpasswd cost under the cap is accepted (parsed only: it
	// would take 256 MiB to verify).
	if s, err := Scheme("{CRYPT}$y$jDT$NevTr9CExq2YPAlaxW49H/$yFXWpvEsSsjeVeAzQPNK8VFLwOt57T3TPhGiT.O0E6C"); s != SchemeYescrypt || err != nil { // mkpasswd -m yescrypt -R 9 Correct-Horse7
		t.Errorf("mkpasswd -R 9: Scheme = %q, %v", s, err)
	}
	_, err := Scheme("$y$jFT$EfMmZFZXld95thHfxVumm/$We/KDbQvJy0DoYtfwxBZPv35j49u5ePAu/.5CfasgR.")
	if err == nil || !strings.Contains(err.Error(), "1024 MiB, above 256 MiB") {
		t.Errorf("the refusal does not say how much memory: %v", err)
	}
}

func TestYescryptMalformed(t *testing.T) {
	for _, e := range []string{
		"$y$", "$y$j9T", "$y$j9T$", "$y$j9T$salt", "$y$$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4",
		"$y$j9T$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq",   // short hash
		"$y$j9T$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cqz",  // leftover bits set
		"$y$j9T$R0xSVVOUboxu2ZChxgBgn!$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4",  // salt not crypt base64
		"$y$j9T$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4$", // extra field
		"$y$j9T" + "." + "$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4",
		"$y$jzzzzzz$R0xSVVOUboxu2ZChxgBgn.$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4",      // N's digits run into r
		"$y$j9T$" + strings.Repeat("R", 90) + "$8mmXkgSAb54UhrGJu2dY5umWrOA5cx8SCZBdqGk0cq4", // salt above 64 bytes
	} {
		if _, err := parseYescrypt(e); err == nil {
			t.Errorf("parseYescrypt(%q) accepted", e)
		}
	}
}

// FuzzParseYescrypt: no input panics, and whatever the parser accepts stays
// within MaxYescryptMemory and is the string it was given.
func FuzzParseYescrypt(f *testing.F) {
	for _, v := range yescryptVectors {
		f.Add(v.hash)
	}
	f.Add("$y$jFT$EfMmZFZXld95thHfxVumm/$We/KDbQvJy0DoYtfwxBZPv35j49u5ePAu/.5CfasgR.")
	f.Add("$y$jzzzzzz$$")
	f.Add("$y$j9T/3$R0xSVVOUboxu2ZChxgBgn.$md70OH4u.SZBmV1hpJWpmm41pkaUN638olIxljUHML2")
	f.Fuzz(func(t *testing.T, s string) {
		y, err := parseYescrypt(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrUnsupportedHash) {
				t.Fatalf("%q: error %v wraps neither ErrMalformedHash nor ErrUnsupportedHash", s, err)
			}
			return
		}
		mem := 128*uint64(y.r)*y.N + uint64(y.p)*(128*uint64(y.r)+sWords*4)
		if y.N < 2 || y.N&(y.N-1) != 0 || y.r < 1 || y.p < 1 || y.p > maxYescryptP || mem > MaxYescryptMemory+MaxYescryptMemory/16 {
			t.Fatalf("%q: accepted N=%d r=%d p=%d (%d bytes)", s, y.N, y.r, y.p, mem)
		}
		if len(y.salt) > yescryptMaxSalt || len(y.hash) != yescryptHashLen || !strings.HasSuffix(s, "$"+y.hash) {
			t.Fatalf("%q: salt %d bytes, hash %q", s, len(y.salt), y.hash)
		}
		if !strings.Contains(s, "$"+encodeYescryptBytes(y.salt)+"$") {
			t.Fatalf("%q: salt does not round-trip", s)
		}
	})
}

// BenchmarkYescryptVerify: one verification at Debian's default cost
// ($y$j9T$: N=4096, r=32, 16 MiB).
func BenchmarkYescryptVerify(b *testing.B) {
	h := &Hasher{Params: testParams}
	v := yescryptVectors[0]
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(v.hash, v.password); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
