package passwords

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"hash"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// testParams are cheap, so tests stay fast; benchmarks use the defaults.
var testParams = Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// From Drepper's specification, confirmed with `openssl passwd -6 -salt saltstring 'Hello world!'`.
const glibcVector1 = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"

// The test vectors of "Unix crypt using SHA-256 and SHA-512" (Drepper), SHA-512 part.
var sha512CryptVectors = []struct {
	salt   string // as given to crypt, after $6$
	pw     string
	rounds int
	want   string
}{
	{"saltstring", "Hello world!", 0, glibcVector1},
	{"saltstringsaltstring", "Hello world!", 10000,
		"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	{"toolongsaltstring", "This is just a test", 5000,
		"$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
	{"anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.", 1400,
		"$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
	{"short", "we have a short salt string but not a short password", 77777,
		"$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
	{"asaltof16chars..", "a short string", 123456,
		"$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"},
	{"roundstoolow", "the minimum number is still observed", 10,
		"$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
}

func TestSHA512CryptVectors(t *testing.T) {
	h := &Hasher{Params: testParams}
	for _, v := range sha512CryptVectors {
		rounds := v.rounds
		if rounds == 0 {
			rounds = sha512CryptDefaultRounds
		}
		got := sha512Crypt([]byte(v.pw), []byte(v.salt), rounds, v.rounds != 0)
		if got != v.want {
			t.Errorf("sha512Crypt(%q, %q, %d)\n got %s\nwant %s", v.pw, v.salt, v.rounds, got, v.want)
		}
		for _, enc := range []string{v.want, "{CRYPT}" + v.want, "{crypt}" + v.want} {
			ok, rehash, err := h.Verify(enc, v.pw)
			if err != nil || !ok || !rehash {
				t.Errorf("Verify(%.30s…, right) = %v %v %v, want true true nil", enc, ok, rehash, err)
			}
			ok, rehash, err = h.Verify(enc, v.pw+"x")
			if err != nil || ok || rehash {
				t.Errorf("Verify(%.30s…, wrong) = %v %v %v, want false false nil", enc, ok, rehash, err)
			}
		}
	}
}

// sshaOf builds an {SSHA*} string from the algorithm's definition:
// base64(digest(password || salt) || salt).
func sshaOf(tag string, newHash func() hash.Hash, pw string, salt []byte) string {
	h := newHash()
	h.Write([]byte(pw))
	h.Write(salt)
	return tag + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

func TestVerifySSHA(t *testing.T) {
	h := &Hasher{Params: testParams}
	salt4 := []byte{0xde, 0xad, 0xbe, 0xef}
	salt8 := []byte("8bytesal")
	cases := []struct {
		name string
		enc  string
	}{
		{"SSHA 4-byte salt", sshaOf("{SSHA}", sha1.New, "secret", salt4)},
		{"SSHA 8-byte salt", sshaOf("{SSHA}", sha1.New, "secret", salt8)},
		{"ssha lower-case tag", sshaOf("{ssha}", sha1.New, "secret", salt4)},
		{"SSHA256", sshaOf("{SSHA256}", sha256.New, "secret", salt8)},
		{"SSHA512", sshaOf("{SSHA512}", sha512.New, "secret", salt8)},
		{"SSHA unpadded", strings.TrimRight(sshaOf("{SSHA}", sha1.New, "secret", salt4), "=")},
	}
	for _, c := range cases {
		ok, rehash, err := h.Verify(c.enc, "secret")
		if err != nil || !ok || !rehash {
			t.Errorf("%s: Verify(right) = %v %v %v", c.name, ok, rehash, err)
		}
		ok, _, err = h.Verify(c.enc, "Secret")
		if err != nil || ok {
			t.Errorf("%s: Verify(wrong) = %v %v", c.name, ok, err)
		}
	}
	// Fixed vectors made outside Go, so that sshaOf cannot share a mistake
	// with the verifier: salt DE AD BE EF, password "secret",
	// (printf 'secret\xde\xad\xbe\xef' | openssl sha1 -binary; printf '\xde\xad\xbe\xef') | base64
	for _, enc := range []string{
		"{SSHA}EfPuh7/9ddeKpzeG+d+Ylov4cTrerb7v",
		"{SSHA256}gOTxtOARaY2XSv3HUPstUucQoALexasmfPW5DHc2GMTerb7v",
		"{SSHA512}kyIpdsrB2UF03DzitElS0NGmohog+mUda8e85iz133KrvQqIlqhBs4BNJSgY+ck0UhODqgYSl+u98MN5uyzqtN6tvu8=",
	} {
		if ok, _, err := h.Verify(enc, "secret"); !ok || err != nil {
			t.Errorf("openssl vector %.10s…: %v %v", enc, ok, err)
		}
		if got := sshaOf(enc[:strings.IndexByte(enc, '}')+1], map[byte]func() hash.Hash{'}': sha1.New, '2': sha256.New, '5': sha512.New}[enc[5]], "secret", salt4); got != enc {
			t.Errorf("sshaOf = %s, want %s", got, enc)
		}
	}
	// The digest alone, without salt, is the unsalted {SHA} and is refused.
	if _, _, err := h.Verify("{SSHA}"+base64.StdEncoding.EncodeToString(sha1Sum("secret")), "secret"); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("saltless SSHA: err = %v, want ErrMalformedHash", err)
	}
	// SSHA256 with a SHA-1 body is too short to hold digest and salt.
	if _, _, err := h.Verify(sshaOf("{SSHA256}", sha1.New, "secret", salt4), "secret"); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("short SSHA256: err = %v, want ErrMalformedHash", err)
	}
}

func sha1Sum(s string) []byte {
	d := sha1.Sum([]byte(s))
	return d[:]
}

func TestVerifyBcrypt(t *testing.T) {
	h := &Hasher{Params: testParams}
	enc, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	b := string(enc) // $2a$
	for _, e := range []string{
		b,
		"$2b$" + b[4:],
		"$2y$" + b[4:],
		"{CRYPT}" + b,
		// A public vector: bcrypt of "U*U" with cost 5 (OpenBSD test suite).
		"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	} {
		pw := "secret"
		if strings.HasPrefix(e, "$2a$05$CCCC") {
			pw = "U*U"
		}
		ok, rehash, err := h.Verify(e, pw)
		if err != nil || !ok || !rehash {
			t.Errorf("Verify(%.10s…, right) = %v %v %v", e, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(e, pw+"!")
		if err != nil || ok || rehash {
			t.Errorf("Verify(%.10s…, wrong) = %v %v %v", e, ok, rehash, err)
		}
	}
	tooCostly := "$2a$31$" + b[7:]
	if _, _, err := h.Verify(tooCostly, "secret"); !errors.Is(err, ErrUnsupportedHash) {
		t.Errorf("cost 31: err = %v, want ErrUnsupportedHash", err)
	}
	if _, _, err := h.Verify("$2x$"+b[4:], "secret"); !errors.Is(err, ErrUnsupportedHash) {
		t.Errorf("$2x$: err = %v, want ErrUnsupportedHash", err)
	}
}

func TestHashAndVerifyArgon2id(t *testing.T) {
	h := &Hasher{Params: testParams}
	enc, err := h.Hash("Kv7#mPq2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("PHC string %q", enc)
	}
	enc2, _ := h.Hash("Kv7#mPq2")
	if enc == enc2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
	ok, rehash, err := h.Verify(enc, "Kv7#mPq2")
	if err != nil || !ok || rehash {
		t.Errorf("Verify(right) = %v %v %v, want true false nil", ok, rehash, err)
	}
	ok, rehash, err = h.Verify(enc, "Kv7#mPq3")
	if err != nil || ok || rehash {
		t.Errorf("Verify(wrong) = %v %v %v, want false false nil", ok, rehash, err)
	}
	// Changed parameters ask for a rehash, each one of them.
	for _, p := range []Argon2Params{
		{Memory: 128, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Iterations: 1, Parallelism: 2, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 32, KeyLen: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 64},
	} {
		ok, rehash, err := (&Hasher{Params: p}).Verify(enc, "Kv7#mPq2")
		if err != nil || !ok || !rehash {
			t.Errorf("params %+v: Verify = %v %v %v, want true true nil", p, ok, rehash, err)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	h := &Hasher{Params: testParams}
	good, _ := h.Hash("x")
	parts := strings.Split(good, "$")
	tests := []struct {
		enc  string
		want error
	}{
		{"", ErrUnsupportedHash},
		{"plaintext", ErrUnsupportedHash},
		{"{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=", ErrUnsupportedHash},
		{"{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==", ErrUnsupportedHash},
		{"$1$saltsalt$hash", ErrMalformedHash},
		{"$5$saltsalt$hash", ErrMalformedHash},
		{"$7$saltsalt$hash", ErrUnsupportedHash},
		{"{CRYPT}$y$j9T$salt$hash", ErrMalformedHash},
		{"{CRYPT}$y$jET$tdrZ6VoXVT1zH3p/F1QuG1$HcC1t4Ce6hnPpgXnqP9TcYehRLJ.o3X3IkKnsq3xqF9", ErrUnsupportedHash}, // 512 MiB
		{"$argon2d$v=19$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", ErrUnsupportedHash},
		{"$argon2id$v=16$m=64,t=1,p=1$" + parts[4] + "$" + parts[5], ErrUnsupportedHash},
		{"$argon2id$v=19$m=4294967295,t=1,p=1$" + parts[4] + "$" + parts[5], ErrUnsupportedHash},
		{"$argon2id$v=19$m=64,t=0,p=1$" + parts[4] + "$" + parts[5], ErrUnsupportedHash},
		{"$argon2id$v=19$m=64,t=1,p=0$" + parts[4] + "$" + parts[5], ErrUnsupportedHash},
		{"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$", ErrUnsupportedHash}, // empty key
		{"$argon2id$v=19$t=1,m=64,p=1$" + parts[4] + "$" + parts[5], ErrMalformedHash},
		{"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5] + "=", ErrMalformedHash},
		{"$argon2id$v=19$m=64,t=1,p=1$" + parts[4], ErrMalformedHash},
		{"$argon2id$v=19$m=-1,t=1,p=1$" + parts[4] + "$" + parts[5], ErrMalformedHash},
		{"$6$salt", ErrMalformedHash},
		{"$6$rounds=abc$salt$" + strings.Repeat("a", 86), ErrMalformedHash},
		{"$6$rounds=5000000$salt$" + strings.Repeat("a", 86), ErrUnsupportedHash},
		{"$6$salt$tooshort", ErrMalformedHash},
		{"$6$salt$" + strings.Repeat("!", 86), ErrMalformedHash},
		{"$6$saltsaltsaltsaltsalt$" + strings.Repeat("a", 86), ErrMalformedHash},
		{"{SSHA}not base64!", ErrMalformedHash},
		{"{SSHA", ErrMalformedHash},
		{"$2a$10$short", ErrMalformedHash},
	}
	for _, tt := range tests {
		ok, rehash, err := h.Verify(tt.enc, "x")
		if !errors.Is(err, tt.want) || ok || rehash {
			t.Errorf("Verify(%q) = %v %v %v, want false false %v", tt.enc, ok, rehash, err, tt.want)
		}
	}
	if _, _, err := h.Verify(good, strings.Repeat("x", MaxPasswordBytes+1)); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("long password: %v", err)
	}
	if _, err := h.Hash(strings.Repeat("x", MaxPasswordBytes+1)); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash long password: %v", err)
	}
}

func TestArgon2ParamsValidate(t *testing.T) {
	if err := DefaultArgon2Params().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	d := DefaultArgon2Params()
	if d.Memory != 19456 || d.Iterations != 2 || d.Parallelism != 1 {
		t.Errorf("defaults %+v are not OWASP's m=19456 t=2 p=1", d)
	}
	for _, p := range []Argon2Params{
		{},
		{Memory: 64, Iterations: 1, Parallelism: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 7, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 8},
		{Memory: MaxArgon2Memory + 1, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
	} {
		if err := p.Validate(); !errors.Is(err, ErrBadParams) {
			t.Errorf("%+v: err = %v, want ErrBadParams", p, err)
		}
		if _, err := (&Hasher{Params: p}).Hash("x"); !errors.Is(err, ErrBadParams) {
			t.Errorf("Hash with %+v: err = %v, want ErrBadParams", p, err)
		}
	}
}

func TestDummyVerifyDoesNotPanic(t *testing.T) {
	(&Hasher{Params: testParams}).DummyVerify("x")
	(&Hasher{}).DummyVerify(strings.Repeat("x", 5000)) // invalid params fall back to the defaults
}
