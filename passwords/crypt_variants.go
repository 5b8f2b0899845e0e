package passwords

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// The other crypt(3) schemes an OpenLDAP or /etc/shadow export holds under
// {CRYPT}: SHA-256 crypt ($5$, Drepper's specification, as $6$ with SHA-256)
// and the older MD5 crypt ($1$, Poul-Henning Kamp's, FreeBSD and glibc).
// Only verification: a match is upgraded to argon2id on the sign-in.

func verifySHA256Crypt(encoded string, pw []byte) (bool, error) {
	c, err := parseSHACrypt(encoded, "$5$", 43)
	if err != nil {
		return false, err
	}
	got := sha256CryptSum(pw, []byte(c.salt), c.rounds)
	return subtle.ConstantTimeCompare([]byte(got), []byte(c.hash)) == 1, nil
}

// sha256CryptSum returns the 43 characters after the last "$" of a $5$ hash.
func sha256CryptSum(pw, salt []byte, rounds int) string {
	c := shaCryptDigest(sha256.New, pw, salt, rounds)
	// The specification's byte order: triples (i, i+10, i+20) rotated by
	// i%3 the other way from SHA-512's, then the last two bytes.
	out := make([]byte, 0, 43)
	for i := range 10 {
		x, y, z := c[i], c[i+10], c[i+20]
		switch i % 3 {
		case 1:
			x, y, z = z, x, y
		case 2:
			x, y, z = y, z, x
		}
		out = b64From24(out, x, y, z, 4)
	}
	return string(b64From24(out, 0, c[31], c[30], 3))
}

const md5CryptMaxSalt = 8

// parseMD5Crypt splits $1$salt$hash.
func parseMD5Crypt(s string) (salt, hash string, err error) {
	rest, ok := strings.CutPrefix(s, "$1$")
	if !ok {
		return "", "", fmt.Errorf("%w: not $1$", ErrMalformedHash)
	}
	salt, hash, found := strings.Cut(rest, "$")
	if !found {
		return "", "", fmt.Errorf("%w: no hash after salt", ErrMalformedHash)
	}
	if len(salt) > md5CryptMaxSalt {
		return "", "", fmt.Errorf("%w: salt longer than 8", ErrMalformedHash)
	}
	if len(hash) != 22 || strings.Trim(hash, cryptAlphabet) != "" {
		return "", "", fmt.Errorf("%w: hash is not 22 characters of the crypt alphabet", ErrMalformedHash)
	}
	return salt, hash, nil
}

func verifyMD5Crypt(encoded string, pw []byte) (bool, error) {
	salt, hash, err := parseMD5Crypt(encoded)
	if err != nil {
		return false, err
	}
	got := md5CryptSum(pw, []byte(salt))
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1, nil
}

// md5CryptSum returns the 22 characters after the last "$" of a $1$ hash.
func md5CryptSum(pw, salt []byte) string {
	alt := md5.New()
	alt.Write(pw)
	alt.Write(salt)
	alt.Write(pw)
	b := alt.Sum(nil)

	h := md5.New()
	h.Write(pw)
	h.Write([]byte("$1$"))
	h.Write(salt)
	for n := len(pw); n > 0; n -= 16 {
		h.Write(b[:min(n, 16)])
	}
	// For each bit of the length from the lowest: a zero byte for a one,
	// the first byte of the password for a zero (the original's quirk).
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	c := h.Sum(nil)

	for i := range 1000 {
		h.Reset()
		if i&1 != 0 {
			h.Write(pw)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(salt)
		}
		if i%7 != 0 {
			h.Write(pw)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pw)
		}
		c = h.Sum(c[:0])
	}
	out := make([]byte, 0, 22)
	for i := range 5 {
		j := i + 12
		if i == 4 {
			j = 5
		}
		out = b64From24(out, c[i], c[i+6], c[j], 4)
	}
	return string(b64From24(out, 0, 0, c[11], 2))
}
