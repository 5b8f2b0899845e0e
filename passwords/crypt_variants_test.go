package passwords

import (
	"encoding/hex"
	"errors"
	"testing"
)

// Vectors made by Debian's tools: mkpasswd (package whois) for the crypt
// schemes, slappasswd (package slapd, with -o module-load=pw-sha2 for the
// SHA-2 ones) for {SSHA*}. Each is verified as stored, under {CRYPT} where
// it is a crypt string, and refused for a wrong password.
var toolVectors = []struct {
	tool, scheme, password, hash string
}{
	{"mkpasswd -m md5crypt", SchemeMD5Crypt, "Correct-Horse7", "$1$/YWscWR0$8ZcUSu/rs3etlYWoID4Te0"},
	{"mkpasswd -m md5crypt", SchemeMD5Crypt, "Siân-7!x", "$1$v2lCNp4f$eBuKqfIoI3RsGu9ZBnUvX/"},
	{"mkpasswd -m md5crypt", SchemeMD5Crypt, "", "$1$HGLuxEMX$KlL/j6Gs8LxJFK1oU3QXs1"},
	{"mkpasswd -m sha256crypt", SchemeSHA256Crypt, "Correct-Horse7", "$5$zdKYFapvMOU8AllZ$cb5ohQ9kpXiKFIExnRFrpWs2O/CR.yOUtre7jz1xH04"},
	{"mkpasswd -m sha256crypt", SchemeSHA256Crypt, "Siân-7!x", "$5$txWmixDSDbL7rrAh$WlRSbbnxLePzF861wW86TzELEgHwKFxV2aIuhphEGG5"},
	{"mkpasswd -m sha256crypt -R 12345", SchemeSHA256Crypt, "Correct-Horse7", "$5$rounds=12345$PIdzHES/DzCxmbMm$BYjAuC0HMAd0TiG7g8e19Mc0yYSG85d68HeUo8RbIY4"},
	{"mkpasswd -m sha512crypt", SchemeSHA512Crypt, "Correct-Horse7", "$6$mxhH3h22JO/0AnFN$jlNOUC3j19xOK8UbtBcYw2wvuoCcucYcANjGtWTAFh7nZF1IgCUcSIo1tIuu7.IZJLMFNzst1spkmBIAjQACh1"},
	{"mkpasswd -m sha512crypt", SchemeSHA512Crypt, "Siân-7!x", "$6$YNOqP2Vf.yfMjPmE$JrAPzy8g/4XaykwIhStBE8iwoHatbFBlHAkyTIke1cQkMhIDcZ7WPv01Hvws3Fp.704izO4SzxUIzMcSFUdPD0"},
	{"slappasswd -h {SSHA}", SchemeSSHA, "Correct-Horse7", "{SSHA}wpikYhvYFZtAtreBRmcHQmXt8qKYPPsc"},
	{"slappasswd -h {SSHA256}", SchemeSSHA256, "Correct-Horse7", "{SSHA256}GxkzbLGuyRnS0oJBF5vlLI3wCz88rgKMfoRGdDqlL4ecn+vYO/DIsA=="},
	{"slappasswd -h {SSHA512}", SchemeSSHA512, "Correct-Horse7", "{SSHA512}kx8G5dRkAI3Sb6rwmWoxMphYoVeen+OkrhuZhWlKToCXHxJfBn67PH0PzgmL7+FnUpkr6R5oTSaVhtN7exhyYBmQJW0Z9my8"},
	{"slappasswd -o module-load=argon2 -h {ARGON2}", SchemeArgon2i, "Correct-Horse7", "{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$d5t287oWTOCYpLwa1Ha3kA$O6EorO6LoOGVRSvVgipn/4vKVEZBQMugNpDQbfGCnvQ"},
	// The NT hash of "password", as every MS-CHAP reference gives it.
	{"NT hash", SchemeNT, "password", "{NT}8846f7eaee8fb117ad06bdd830b7586c"},
}

func TestVerifyToolVectors(t *testing.T) {
	h := &Hasher{Params: testParams}
	for _, v := range toolVectors {
		forms := []string{v.hash}
		if v.hash[0] == '$' {
			forms = append(forms, "{CRYPT}"+v.hash, "{crypt}"+v.hash)
		}
		for _, enc := range forms {
			ok, rehash, err := h.Verify(enc, v.password)
			if err != nil || !ok || !rehash {
				t.Errorf("%s %q: Verify = %v, %v, %v; want true, true (upgrade), nil", v.tool, enc, ok, rehash, err)
			}
			if ok, _, err := h.Verify(enc, v.password+"x"); ok || err != nil {
				t.Errorf("%s %q: wrong password = %v, %v", v.tool, enc, ok, err)
			}
			if s, err := Scheme(enc); s != v.scheme || err != nil {
				t.Errorf("%s: Scheme = %q, %v; want %q", v.tool, s, err, v.scheme)
			}
		}
	}
}

func TestSchemeRefusesMalformed(t *testing.T) {
	for _, enc := range []string{
		"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "{MD5}X03MO1qnZdYdgyfeuILPmQ==", "plain", "{NT}zz", "{NT}8846f7eaee8fb117ad06bdd830b7586",
		"$1$salt$short", "$5$salt$short", "$6$x$y", "{SSHA}AAAA", "$y$jFT$EfMmZFZXld95thHfxVumm/$We/KDbQvJy0DoYtfwxBZPv35j49u5ePAu/.5CfasgR.", "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$7$abc",
	} {
		if _, err := Scheme(enc); err == nil {
			t.Errorf("Scheme(%q) accepted", enc)
		}
	}
}

func TestEncodeNTHash(t *testing.T) {
	nt := NTHash("password")
	enc, err := EncodeNTHash(nt)
	if err != nil || enc != "{NT}"+hex.EncodeToString(nt) {
		t.Fatalf("EncodeNTHash = %q, %v", enc, err)
	}
	if _, err := EncodeNTHash(nt[:15]); !errors.Is(err, ErrMalformedHash) {
		t.Fatalf("15 bytes: %v", err)
	}
}
