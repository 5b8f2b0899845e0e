package passwords

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// Errors of hashing and verification. Each is wrapped with what was wrong;
// match with errors.Is.
var (
	// ErrMalformedHash: the encoded hash names a supported scheme but does
	// not parse.
	ErrMalformedHash = errors.New("passwords: malformed hash")
	// ErrUnsupportedHash: the scheme is unknown, or its cost is outside what
	// Verify accepts (a hash with a huge cost would be a denial of service).
	ErrUnsupportedHash = errors.New("passwords: unsupported hash")
	// ErrBadParams: argon2id parameters outside the accepted bounds.
	ErrBadParams = errors.New("passwords: bad argon2id parameters")
	// ErrPasswordTooLong: longer than MaxPasswordBytes after NFC (or than
	// maxTypedBytes as typed); refused before any hashing, since
	// sha512-crypt costs the square of the length.
	ErrPasswordTooLong = errors.New("passwords: password too long")
)

// Bounds on what Hash produces and Verify accepts.
const (
	MaxPasswordBytes   = 1024    // after NFC: 256 runes of up to 4 bytes, the longest MaxLength allows
	MaxArgon2Memory    = 1 << 20 // KiB (1 GiB)
	MaxArgon2Time      = 64
	MaxBcryptCost      = 16 // imported hashes use 10-12; 16 is ~5 s
	MaxSHA512CryptRnds = 1_000_000
)

// Argon2Params are the argon2id parameters, set in configuration.
type Argon2Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLen     uint32 // bytes
	KeyLen      uint32 // bytes
}

// DefaultArgon2Params are the first of OWASP's equivalent argon2id
// configurations (Password Storage Cheat Sheet): 19 MiB, 2 iterations, 1
// lane, with a 16-byte salt and 32-byte key. Memory is what a login costs
// while it runs, so 19 MiB keeps the 8:45 burst of a few hundred LDAP and
// RADIUS logins within a small school server; raise Memory on bigger
// hardware, and hashes upgrade on the next login (Verify's needsRehash).
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p is within the bounds Hash and Verify accept.
func (p Argon2Params) Validate() error {
	var problems []string
	if p.Iterations < 1 || p.Iterations > MaxArgon2Time {
		problems = append(problems, fmt.Sprintf("iterations %d not between 1 and %d", p.Iterations, MaxArgon2Time))
	}
	if p.Parallelism < 1 {
		problems = append(problems, "parallelism is 0")
	}
	if p.Memory < 8*uint32(p.Parallelism) || p.Memory > MaxArgon2Memory {
		problems = append(problems, fmt.Sprintf("memory %d KiB not between 8 per lane and %d", p.Memory, MaxArgon2Memory))
	}
	if p.SaltLen < 8 || p.SaltLen > 64 {
		problems = append(problems, fmt.Sprintf("salt length %d not between 8 and 64", p.SaltLen))
	}
	if p.KeyLen < 16 || p.KeyLen > 64 {
		problems = append(problems, fmt.Sprintf("key length %d not between 16 and 64", p.KeyLen))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrBadParams, strings.Join(problems, "; "))
	}
	return nil
}

// Hasher hashes new passwords with argon2id and verifies hashes of every
// supported scheme. It holds no state beyond its parameters and is safe for
// concurrent use.
type Hasher struct {
	Params Argon2Params
}

// Hash returns the argon2id PHC string of password, normalised to NFC, with
// a fresh random salt: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> (unpadded
// standard base64). NFC, because the same accented password arrives composed
// ("â" as one code point) from one keyboard and decomposed ("a" and a
// combining circumflex) from another, and must verify either way.
func (h *Hasher) Hash(password string) (string, error) {
	if err := h.Params.Validate(); err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	if len(password) > maxTypedBytes {
		return "", fmt.Errorf("hash: %w", ErrPasswordTooLong)
	}
	password = norm.NFC.String(password)
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("hash: %w", ErrPasswordTooLong)
	}
	salt := make([]byte, h.Params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash: salt: %w", err)
	}
	p := argon2Hash{Argon2Params: h.Params, salt: salt}
	p.key = p.derive([]byte(password))
	return p.encode(), nil
}

// Verify checks password against an encoded hash of any supported scheme
// (after NFC, and then as typed if that differs: see verifyForms):
// argon2id (PHC), argon2i and argon2id under {ARGON2} (OpenLDAP's argon2
// module), {SSHA}, {SSHA256}, {SSHA512}, {CRYPT} with md5-crypt ($1$),
// sha256-crypt ($5$), sha512-crypt ($6$) or bcrypt, the same crypt strings
// bare, bcrypt ($2a$, $2b$, $2y$), and an imported NT hash ({NT}, see
// NTHashTag), and yescrypt ($y$, libxcrypt's default flags, within
// MaxYescryptMemory). Scheme tags are
// matched without regard to case. The final comparison is constant-time.
//
// needsRehash is true only when ok, and then when the scheme is not argon2id
// or its parameters differ from h.Params: the caller stores h.Hash(password).
// A mismatch is ok false with a nil error; err is for a hash that cannot be
// used at all (ErrMalformedHash, ErrUnsupportedHash) or ErrPasswordTooLong.
func (h *Hasher) Verify(encoded, password string) (ok bool, needsRehash bool, err error) {
	forms, err := verifyForms(password)
	if err != nil {
		return false, false, fmt.Errorf("verify: %w", err)
	}
	for i, pw := range forms {
		ok, rehash, err := h.verify(encoded, pw)
		if err != nil || ok {
			// A match on the typed form is a hash of non-NFC input:
			// store the NFC hash instead.
			return ok, rehash || (ok && i > 0), err
		}
	}
	return false, false, nil
}

// maxTypedBytes bounds the input that Hash and Verify normalise. Its NFC
// form must still fit MaxPasswordBytes; the room above that is for
// decomposed input, which is longer than its NFC form (up to 5 bytes for a
// Vietnamese letter that takes 3 composed).
const maxTypedBytes = 4 * MaxPasswordBytes

// verifyForms returns the forms of password that Verify tries, in order:
// its NFC form, as Hash stores, then, only when the input was not NFC, the
// input as typed, which is what a hash imported from an older directory
// was made from. The typed form is left out beyond MaxPasswordBytes, which
// no earlier Verify accepted. DummyVerify hashes the same forms, so a
// decomposed password costs the same for an unknown user as a wrong one.
func verifyForms(password string) ([][]byte, error) {
	if len(password) > maxTypedBytes {
		return nil, ErrPasswordTooLong
	}
	nfc := norm.NFC.String(password)
	if len(nfc) > MaxPasswordBytes {
		return nil, ErrPasswordTooLong
	}
	forms := [][]byte{[]byte(nfc)}
	if nfc != password && len(password) <= MaxPasswordBytes {
		forms = append(forms, []byte(password))
	}
	return forms, nil
}

// verify checks one form of the password against encoded.
func (h *Hasher) verify(encoded string, pw []byte) (ok bool, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"), strings.HasPrefix(encoded, "$argon2i$"):
		p, err := parseArgon2(encoded)
		if err != nil {
			return false, false, fmt.Errorf("verify argon2: %w", err)
		}
		if subtle.ConstantTimeCompare(p.derive(pw), p.key) != 1 {
			return false, false, nil
		}
		return true, p.argon2i || p.Argon2Params != h.Params, nil
	case hasTag(encoded, "{ARGON2}"):
		// OpenLDAP's argon2 module: the PHC string after the tag.
		return h.verify(encoded[len("{ARGON2}"):], pw)
	case hasTag(encoded, "{CRYPT}"):
		return h.verifyCrypt(encoded[len("{CRYPT}"):], pw)
	case hasTag(encoded, NTHashTag):
		ok, err := verifyNTHash(encoded, pw)
		if err != nil {
			return false, false, fmt.Errorf("verify nt hash: %w", err)
		}
		return ok, ok, nil
	case hasTag(encoded, "{SSHA"):
		ok, err := verifySSHA(encoded, pw)
		if err != nil {
			return false, false, fmt.Errorf("verify ssha: %w", err)
		}
		return ok, ok, nil
	case strings.HasPrefix(encoded, "$"):
		return h.verifyCrypt(encoded, pw)
	}
	return false, false, fmt.Errorf("verify: %w: unknown scheme", ErrUnsupportedHash)
}

// verifyCrypt handles crypt(3) strings, bare or after {CRYPT}.
func (h *Hasher) verifyCrypt(c string, pw []byte) (bool, bool, error) {
	switch {
	case strings.HasPrefix(c, "$6$"):
		ok, err := verifySHA512Crypt(c, pw)
		if err != nil {
			return false, false, fmt.Errorf("verify sha512-crypt: %w", err)
		}
		return ok, ok, nil
	case strings.HasPrefix(c, "$5$"):
		ok, err := verifySHA256Crypt(c, pw)
		if err != nil {
			return false, false, fmt.Errorf("verify sha256-crypt: %w", err)
		}
		return ok, ok, nil
	case strings.HasPrefix(c, "$1$"):
		ok, err := verifyMD5Crypt(c, pw)
		if err != nil {
			return false, false, fmt.Errorf("verify md5-crypt: %w", err)
		}
		return ok, ok, nil
	case strings.HasPrefix(c, "$y$"):
		ok, err := verifyYescrypt(c, pw)
		if err != nil {
			return false, false, fmt.Errorf("verify yescrypt: %w", err)
		}
		return ok, ok, nil
	case strings.HasPrefix(c, "$2a$"), strings.HasPrefix(c, "$2b$"), strings.HasPrefix(c, "$2y$"):
		cost, err := bcrypt.Cost([]byte(c))
		if err != nil {
			return false, false, fmt.Errorf("verify bcrypt: %w: %v", ErrMalformedHash, err)
		}
		if cost > MaxBcryptCost {
			return false, false, fmt.Errorf("verify bcrypt: %w: cost %d above %d", ErrUnsupportedHash, cost, MaxBcryptCost)
		}
		err = bcrypt.CompareHashAndPassword([]byte(c), pw)
		switch {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, false, nil
		default:
			return false, false, fmt.Errorf("verify bcrypt: %w: %v", ErrMalformedHash, err)
		}
	case strings.HasPrefix(c, "$argon2id$"):
		// Some directories store argon2id under {CRYPT} too.
		return h.verify(c, pw)
	}
	scheme := c
	if i := strings.IndexByte(c[min(1, len(c)):], '$'); i >= 0 {
		scheme = c[:i+2]
	}
	if len(scheme) > 8 {
		scheme = scheme[:8]
	}
	return false, false, fmt.Errorf("verify crypt: %w: scheme %q", ErrUnsupportedHash, scheme)
}

// DummyVerify costs what verifying an argon2id hash at h.Params costs, for a
// login whose account does not exist, so that timing does not reveal which
// usernames are real. Accounts still on an imported scheme cost what that
// scheme costs until their first login upgrades them.
//
// It hashes every form that Verify would try (see verifyForms): twice for
// input that is not NFC, as a wrong password does. Input that Verify
// refuses as too long before any hashing costs nothing here either.
func (h *Hasher) DummyVerify(password string) {
	p := h.Params
	if p.Validate() != nil {
		p = DefaultArgon2Params()
	}
	forms, err := verifyForms(password)
	if err != nil {
		return
	}
	a := argon2Hash{Argon2Params: p, salt: make([]byte, p.SaltLen)}
	want := make([]byte, p.KeyLen)
	for _, pw := range forms {
		subtle.ConstantTimeCompare(a.derive(pw), want)
	}
}

func hasTag(s, tag string) bool {
	return len(s) >= len(tag) && strings.EqualFold(s[:len(tag)], tag)
}
