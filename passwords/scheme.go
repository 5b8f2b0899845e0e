package passwords

import (
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Names of the schemes Scheme reports, as an import plan lists them.
const (
	SchemeArgon2id     = "argon2id"
	SchemeArgon2i      = "argon2i"
	SchemeSSHA         = "ssha"
	SchemeSSHA256      = "ssha256"
	SchemeSSHA512      = "ssha512"
	SchemeMD5Crypt     = "crypt-md5"
	SchemeSHA256Crypt  = "crypt-sha256"
	SchemeSHA512Crypt  = "crypt-sha512"
	SchemeBcrypt       = "bcrypt"
	SchemeNT           = "nt"
	SchemeYescrypt     = "crypt-yescrypt"
	schemeUnknownCrypt = "crypt"
)

// ErrYescrypt: a yescrypt hash ($y$, Debian's default since bullseye) whose
// parameters Keystage will not compute: more memory than MaxYescryptMemory,
// more than 16 lanes, or flags, t, g or a ROM that libxcrypt's crypt(3)
// does not write. Hashes from mkpasswd and passwd up to -R 9 verify; such
// people need a first password after the import.
var ErrYescrypt = fmt.Errorf("%w: yescrypt ($y$) parameters above what Keystage computes; issue these people a first password", ErrUnsupportedHash)

// Scheme names the scheme of an encoded hash and checks that Verify can use
// it, without hashing anything: an import plan lists what it cannot take
// over before anything is stored. The error wraps ErrUnsupportedHash,
// ErrYescrypt or ErrMalformedHash.
func Scheme(encoded string) (string, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		_, err := parseArgon2(encoded)
		return SchemeArgon2id, err
	case hasTag(encoded, "{ARGON2}"):
		a, err := parseArgon2(encoded[len("{ARGON2}"):])
		if a.argon2i {
			return SchemeArgon2i, err
		}
		return SchemeArgon2id, err
	case hasTag(encoded, NTHashTag):
		_, err := parseNTHash(encoded)
		return SchemeNT, err
	case hasTag(encoded, "{CRYPT}"):
		return cryptScheme(encoded[len("{CRYPT}"):])
	case hasTag(encoded, "{SSHA"):
		end := strings.IndexByte(encoded, '}')
		name := ""
		size := 0
		switch strings.ToUpper(encoded[:max(end+1, 0)]) {
		case "{SSHA}":
			name, size = SchemeSSHA, 20
		case "{SSHA256}":
			name, size = SchemeSSHA256, 32
		case "{SSHA512}":
			name, size = SchemeSSHA512, 64
		default:
			return "", fmt.Errorf("%w: scheme %q", ErrUnsupportedHash, encoded[:min(len(encoded), 12)])
		}
		raw, err := base64.StdEncoding.DecodeString(encoded[end+1:])
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(encoded[end+1:])
		}
		if err != nil || len(raw) <= size {
			return name, fmt.Errorf("%w: not base64 of a digest and a salt", ErrMalformedHash)
		}
		return name, nil
	case strings.HasPrefix(encoded, "$"):
		return cryptScheme(encoded)
	}
	tag := encoded
	if i := strings.IndexByte(encoded, '}'); strings.HasPrefix(encoded, "{") && i > 0 {
		tag = encoded[:i+1]
	}
	return "", fmt.Errorf("%w: scheme %q", ErrUnsupportedHash, tag[:min(len(tag), 12)])
}

func cryptScheme(c string) (string, error) {
	switch {
	case strings.HasPrefix(c, "$1$"):
		_, _, err := parseMD5Crypt(c)
		return SchemeMD5Crypt, err
	case strings.HasPrefix(c, "$5$"):
		_, err := parseSHACrypt(c, "$5$", 43)
		return SchemeSHA256Crypt, err
	case strings.HasPrefix(c, "$6$"):
		_, err := parseSHA512Crypt(c)
		return SchemeSHA512Crypt, err
	case strings.HasPrefix(c, "$y$"):
		_, err := parseYescrypt(c)
		return SchemeYescrypt, err
	case strings.HasPrefix(c, "$2a$"), strings.HasPrefix(c, "$2b$"), strings.HasPrefix(c, "$2y$"):
		cost, err := bcrypt.Cost([]byte(c))
		if err != nil {
			return SchemeBcrypt, fmt.Errorf("%w: %v", ErrMalformedHash, err)
		}
		if cost > MaxBcryptCost {
			return SchemeBcrypt, fmt.Errorf("%w: bcrypt cost %d above %d", ErrUnsupportedHash, cost, MaxBcryptCost)
		}
		return SchemeBcrypt, nil
	case strings.HasPrefix(c, "$argon2id$"):
		_, err := parseArgon2(c)
		return SchemeArgon2id, err
	}
	return schemeUnknownCrypt, fmt.Errorf("%w: crypt scheme %q", ErrUnsupportedHash, c[:min(len(c), 4)])
}
