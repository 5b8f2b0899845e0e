package passwords

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"
)

// verifySSHA checks the salted SHA schemes of OpenLDAP and 389-ds:
// {SSHA}, {SSHA256}, {SSHA512} followed by base64(digest(password || salt) ||
// salt). Salts of any length from 1 byte are accepted (OpenLDAP writes 4,
// 389-ds 8); an empty salt would be the unsalted {SHA}, which is not supported.
func verifySSHA(encoded string, pw []byte) (bool, error) {
	end := strings.IndexByte(encoded, '}')
	if end < 0 {
		return false, fmt.Errorf("%w: no closing brace", ErrMalformedHash)
	}
	var newHash func() hash.Hash
	switch strings.ToUpper(encoded[:end+1]) {
	case "{SSHA}":
		newHash = sha1.New
	case "{SSHA256}":
		newHash = sha256.New
	case "{SSHA512}":
		newHash = sha512.New
	default:
		return false, fmt.Errorf("%w: scheme %q", ErrUnsupportedHash, encoded[:min(end+1, 12)])
	}
	raw, err := base64.StdEncoding.DecodeString(encoded[end+1:])
	if err != nil {
		// Some exports drop the padding.
		raw, err = base64.RawStdEncoding.DecodeString(encoded[end+1:])
		if err != nil {
			return false, fmt.Errorf("%w: not base64", ErrMalformedHash)
		}
	}
	h := newHash()
	size := h.Size()
	if len(raw) <= size {
		return false, fmt.Errorf("%w: %d bytes, want a %d-byte digest and a salt", ErrMalformedHash, len(raw), size)
	}
	digest, salt := raw[:size], raw[size:]
	h.Write(pw)
	h.Write(salt)
	return subtle.ConstantTimeCompare(h.Sum(nil), digest) == 1, nil
}
