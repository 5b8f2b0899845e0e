package passwords

import (
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// SHA-512 crypt as specified by Ulrich Drepper, "Unix crypt using SHA-256 and
// SHA-512" (2008), the $6$ scheme of glibc and /etc/shadow. Only
// verification: new hashes are argon2id.

const (
	sha512CryptDefaultRounds = 5000
	sha512CryptMinRounds     = 1000
	sha512CryptMaxSalt       = 16
	cryptAlphabet            = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// sha512CryptHash is a parsed $6$[rounds=N$]salt$hash string (or $5$).
type sha512CryptHash struct {
	rounds int
	salt   string
	hash   string // 86 characters of the crypt alphabet (43 for $5$)
}

func parseSHA512Crypt(s string) (sha512CryptHash, error) {
	return parseSHACrypt(s, "$6$", 86)
}

// parseSHACrypt parses the $5$ (hashLen 43) and $6$ (86) strings, which
// differ only in their prefix and the length of the encoded digest.
func parseSHACrypt(s, prefix string, hashLen int) (sha512CryptHash, error) {
	var c sha512CryptHash
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return c, fmt.Errorf("%w: not %s", ErrMalformedHash, prefix)
	}
	c.rounds = sha512CryptDefaultRounds
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		if !found {
			return c, fmt.Errorf("%w: rounds without salt", ErrMalformedHash)
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return c, fmt.Errorf("%w: rounds not a number", ErrMalformedHash)
		}
		if n > MaxSHA512CryptRnds {
			return c, fmt.Errorf("%w: %d rounds above %d", ErrUnsupportedHash, n, MaxSHA512CryptRnds)
		}
		// The specification raises a too-low count to the minimum.
		c.rounds, rest = max(int(n), sha512CryptMinRounds), after
	}
	salt, hash, found := strings.Cut(rest, "$")
	if !found {
		return c, fmt.Errorf("%w: no hash after salt", ErrMalformedHash)
	}
	if len(salt) > sha512CryptMaxSalt {
		// glibc truncates silently when hashing; a stored hash never has more.
		return c, fmt.Errorf("%w: salt longer than 16", ErrMalformedHash)
	}
	if len(hash) != hashLen || strings.Trim(hash, cryptAlphabet) != "" {
		return c, fmt.Errorf("%w: hash is not %d characters of the crypt alphabet", ErrMalformedHash, hashLen)
	}
	c.salt, c.hash = salt, hash
	return c, nil
}

func verifySHA512Crypt(encoded string, pw []byte) (bool, error) {
	c, err := parseSHA512Crypt(encoded)
	if err != nil {
		return false, err
	}
	got := sha512CryptSum(pw, []byte(c.salt), c.rounds)
	return subtle.ConstantTimeCompare([]byte(got), []byte(c.hash)) == 1, nil
}

// sha512Crypt returns the full $6$ string; salt is truncated to 16 bytes and
// rounds below 1000 raised to 1000, as the specification says. For tests
// against the published vectors.
func sha512Crypt(pw, salt []byte, rounds int, explicitRounds bool) string {
	if len(salt) > sha512CryptMaxSalt {
		salt = salt[:sha512CryptMaxSalt]
	}
	rounds = max(rounds, sha512CryptMinRounds)
	var b strings.Builder
	b.WriteString("$6$")
	if explicitRounds {
		fmt.Fprintf(&b, "rounds=%d$", rounds)
	}
	b.Write(salt)
	b.WriteByte('$')
	b.WriteString(sha512CryptSum(pw, salt, rounds))
	return b.String()
}

// sha512CryptSum is steps 1 to 22 of the specification; it returns the 86
// characters after the last "$".
func sha512CryptSum(pw, salt []byte, rounds int) string {
	c := shaCryptDigest(sha512.New, pw, salt, rounds)

	// The specification's byte order: triples (i, i+21, i+42), rotated by i%3,
	// then the last byte alone.
	out := make([]byte, 0, 86)
	for i := range 21 {
		x, y, z := c[i], c[i+21], c[i+42]
		switch i % 3 {
		case 1:
			x, y, z = y, z, x
		case 2:
			x, y, z = z, x, y
		}
		out = b64From24(out, x, y, z, 4)
	}
	return string(b64From24(out, 0, 0, c[63], 2))
}

// shaCryptDigest is steps 1 to 21 of the specification, shared by SHA-256
// crypt and SHA-512 crypt: the final digest C before it is encoded.
func shaCryptDigest(newHash func() hash.Hash, pw, salt []byte, rounds int) []byte {
	// Digest B: password, salt, password.
	h := newHash()
	size := h.Size()
	h.Write(pw)
	h.Write(salt)
	h.Write(pw)
	b := h.Sum(nil)

	// Digest A: password, salt, then B for the length of the password, then
	// for each bit of the length from the lowest: B for a one, password for a zero.
	h.Reset()
	h.Write(pw)
	h.Write(salt)
	n := len(pw)
	for ; n > size; n -= size {
		h.Write(b)
	}
	h.Write(b[:n])
	for n = len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	a := h.Sum(nil)

	// P: the password hashed len(pw) times over, stretched to len(pw).
	h.Reset()
	for range len(pw) {
		h.Write(pw)
	}
	p := stretch(h.Sum(nil), len(pw))

	// S: the salt hashed 16+A[0] times over, stretched to len(salt).
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(salt)
	}
	s := stretch(h.Sum(nil), len(salt))

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	return c
}

// stretch repeats digest up to n bytes.
func stretch(digest []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out)+len(digest) <= n {
		out = append(out, digest...)
	}
	return append(out, digest[:n-len(out)]...)
}

func b64From24(out []byte, b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		out = append(out, cryptAlphabet[w&0x3f])
		w >>= 6
	}
	return out
}
