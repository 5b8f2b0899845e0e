package passwords

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// NTHashTag marks a login credential that holds an NT hash imported from
// Active Directory: "{NT}" and the 16 bytes in hex. It verifies the password
// (MD4 of its UTF-16LE form, as Windows computes it) until the first sign-in
// replaces it with argon2id: NT hashes are unsalted and fast, so they are
// kept no longer than it takes the person to sign in once.
const NTHashTag = "{NT}"

// EncodeNTHash is the stored form of an imported NT hash; it refuses
// anything but 16 bytes.
func EncodeNTHash(nt []byte) (string, error) {
	if len(nt) != 16 {
		return "", fmt.Errorf("nt hash: %w: %d bytes, want 16", ErrMalformedHash, len(nt))
	}
	return NTHashTag + hex.EncodeToString(nt), nil
}

func parseNTHash(encoded string) ([]byte, error) {
	h := encoded[len(NTHashTag):]
	if len(h) != 32 {
		return nil, fmt.Errorf("%w: NT hash is not 32 hex digits", ErrMalformedHash)
	}
	b, err := hex.DecodeString(strings.ToLower(h))
	if err != nil {
		return nil, fmt.Errorf("%w: NT hash is not hex", ErrMalformedHash)
	}
	return b, nil
}

func verifyNTHash(encoded string, pw []byte) (bool, error) {
	want, err := parseNTHash(encoded)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(NTHash(string(pw)), want) == 1, nil
}
