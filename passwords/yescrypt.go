package passwords

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
)

// yescrypt as crypt(3) uses it ($y$, libxcrypt; Debian's default since
// bullseye): scrypt's SMix with the read-write (RW) variant and pwxform in
// place of Salsa20/8 in BlockMix, with the flags libxcrypt always writes
// (YESCRYPT_DEFAULTS: 6 pwxform rounds, gather 4, simple 2, 12 KiB S-boxes)
// and no ROM. Only verification is here; Keystage hashes with argon2id.
//
// Written from the yescrypt specification and reference implementation
// (openwall/yescrypt, yescrypt-ref.c and yescrypt-common.c).

// MaxYescryptMemory bounds the memory one yescrypt verification may take:
// 128·r·N bytes for V, yescrypt's memory cost (B and the S-boxes, 128·r+12 KiB
// for each of p lanes, are held to a 16th of it on top). A hash
// asking for more is refused with ErrYescrypt (an ErrUnsupportedHash) before anything is
// allocated, so a planted hash cannot make a sign-in allocate gigabytes.
// Debian's default ($y$j9T$, mkpasswd -R 5) takes 16 MiB; this allows up to
// mkpasswd -R 9 ($y$jDT$).
const MaxYescryptMemory = 256 << 20

// maxYescryptP bounds yescrypt's parallelism (lanes are computed one after
// the other here, so p multiplies the time).
const maxYescryptP = 16

const (
	yescryptRW       = 0x002
	yescryptDefaults = 0x0b6 // RW | ROUNDS_6 | GATHER_4 | SIMPLE_2 | SBOX_12K
	yescryptHashLen  = 43    // 32 bytes in crypt base64
	yescryptMaxSalt  = 64    // bytes, as yescrypt_r decodes at most

	pwxSimple = 2
	pwxGather = 4
	pwxRounds = 6
	sWidth    = 8
	pwxWords  = pwxGather * pwxSimple * 2         // 16 uint32: one 64-byte pwxform block
	sWords    = 3 * (1 << sWidth) * pwxSimple * 2 // 3072 uint32: 12 KiB of S-boxes
	sBoxWords = sWords / 3
	sMask     = ((1 << sWidth) - 1) * pwxSimple * 8 // a byte offset into one S-box
)

// yescryptHash is a parsed $y$ string.
type yescryptHash struct {
	N    uint64
	r, p uint32
	salt []byte
	hash string // the 43 characters after the last '$'
}

// cryptB64 is crypt(3)'s base64 alphabet; yescrypt reads it little-endian.
const cryptB64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func atoi64(c byte) uint32 {
	if i := strings.IndexByte(cryptB64, c); i >= 0 {
		return uint32(i)
	}
	return 64
}

// decodeYescryptUint reads one of yescrypt's variable-length numbers (the
// first character says how many follow) from s, returning it plus min and
// the rest of s.
func decodeYescryptUint(s string, min uint32) (uint32, string, bool) {
	if s == "" {
		return 0, s, false
	}
	c := atoi64(s[0])
	if c > 63 {
		return 0, s, false
	}
	s = s[1:]
	var start, end, chars, shift uint32 = 0, 47, 1, 0
	v := uint64(min)
	for c > end {
		v += uint64(end+1-start) << shift
		start = end + 1
		end = start + (62-end)/2
		chars++
		shift += 6
	}
	v += uint64(c-start) << shift
	for chars--; chars > 0; chars-- {
		if s == "" {
			return 0, s, false
		}
		c := atoi64(s[0])
		if c > 63 {
			return 0, s, false
		}
		s = s[1:]
		shift -= 6
		v += uint64(c) << shift
	}
	if v > 0xffffffff {
		return 0, s, false
	}
	return uint32(v), s, true
}

// decodeYescryptBytes decodes yescrypt's little-endian crypt base64: each
// group of up to 4 characters is up to 3 bytes; a group must hold at least
// one whole byte and its leftover bits must be zero.
func decodeYescryptBytes(s string) ([]byte, bool) {
	var out []byte
	for s != "" {
		var v, nbits uint32
		for s != "" && nbits < 24 {
			c := atoi64(s[0])
			if c > 63 {
				return nil, false
			}
			s = s[1:]
			v |= c << nbits
			nbits += 6
		}
		if nbits < 12 {
			return nil, false
		}
		for nbits >= 8 {
			out = append(out, byte(v))
			v >>= 8
			nbits -= 8
		}
		if v != 0 {
			return nil, false
		}
	}
	return out, true
}

// encodeYescryptBytes is the inverse of decodeYescryptBytes.
func encodeYescryptBytes(src []byte) string {
	var b strings.Builder
	for i := 0; i < len(src); {
		var v, nbits uint32
		for nbits < 24 && i < len(src) {
			v |= uint32(src[i]) << nbits
			i++
			nbits += 8
		}
		for n := uint32(0); n < nbits; n += 6 {
			b.WriteByte(cryptB64[v&0x3f])
			v >>= 6
		}
	}
	return b.String()
}

// parseYescrypt parses $y$<flavor><N><r>[<have><p>]$<salt>$<hash>, strictly:
// only the flags libxcrypt writes, no ROM, no t or g, and parameters within
// MaxYescryptMemory and maxYescryptP.
func parseYescrypt(c string) (yescryptHash, error) {
	var y yescryptHash
	rest, ok := strings.CutPrefix(c, "$y$")
	if !ok {
		return y, fmt.Errorf("%w: not $y$", ErrMalformedHash)
	}
	params, rest, ok := strings.Cut(rest, "$")
	if !ok {
		return y, fmt.Errorf("%w: yescrypt: want $y$params$salt$hash", ErrMalformedHash)
	}
	saltStr, hash, ok := strings.Cut(rest, "$")
	if !ok || strings.Contains(hash, "$") {
		return y, fmt.Errorf("%w: yescrypt: want $y$params$salt$hash", ErrMalformedHash)
	}
	flavor, params, ok := decodeYescryptUint(params, 0)
	if !ok {
		return y, fmt.Errorf("%w: yescrypt flavour", ErrMalformedHash)
	}
	if flavor < yescryptRW || yescryptRW+(flavor-yescryptRW)<<2 != yescryptDefaults {
		return y, fmt.Errorf("%w: yescrypt flavour %d (only libxcrypt's default is supported)", ErrYescrypt, flavor)
	}
	nLog2, params, ok := decodeYescryptUint(params, 1)
	if !ok || nLog2 > 63 {
		return y, fmt.Errorf("%w: yescrypt N", ErrMalformedHash)
	}
	r, params, ok := decodeYescryptUint(params, 1)
	if !ok {
		return y, fmt.Errorf("%w: yescrypt r", ErrMalformedHash)
	}
	p := uint32(1)
	if params != "" {
		var have uint32
		have, params, ok = decodeYescryptUint(params, 1)
		if !ok {
			return y, fmt.Errorf("%w: yescrypt parameters", ErrMalformedHash)
		}
		if have&^1 != 0 {
			return y, fmt.Errorf("%w: yescrypt with t, g or a ROM", ErrYescrypt)
		}
		if have&1 != 0 {
			if p, params, ok = decodeYescryptUint(params, 2); !ok {
				return y, fmt.Errorf("%w: yescrypt p", ErrMalformedHash)
			}
		}
		if params != "" {
			return y, fmt.Errorf("%w: yescrypt parameters", ErrMalformedHash)
		}
	}
	if nLog2 < 1 || r < 1 || p < 1 {
		return y, fmt.Errorf("%w: yescrypt parameters out of range", ErrMalformedHash)
	}
	if p > maxYescryptP {
		return y, fmt.Errorf("%w: yescrypt p=%d above %d", ErrYescrypt, p, maxYescryptP)
	}
	// Memory: V is 128·r·N (yescrypt's memory cost, what MaxYescryptMemory
	// bounds), B 128·r·p and the S-boxes 12 KiB a lane (bounded to a 16th
	// of it). Checked in steps that cannot overflow.
	if nLog2 > 40 || r > MaxYescryptMemory/128 {
		return y, fmt.Errorf("%w: yescrypt N=2^%d, r=%d needs more than %d MiB", ErrYescrypt, nLog2, r, MaxYescryptMemory>>20)
	}
	N := uint64(1) << nLog2
	if v := 128 * uint64(r) * N; v > MaxYescryptMemory {
		return y, fmt.Errorf("%w: yescrypt N=2^%d, r=%d needs %d MiB, above %d MiB", ErrYescrypt, nLog2, r, v>>20, MaxYescryptMemory>>20)
	}
	if lanes := (128*uint64(r) + sWords*4) * uint64(p); lanes > MaxYescryptMemory/16 {
		return y, fmt.Errorf("%w: yescrypt r=%d, p=%d needs %d MiB for its lanes, above %d MiB", ErrYescrypt, r, p, lanes>>20, MaxYescryptMemory>>24)
	}
	// yescrypt_kdf's own limit for the RW mode.
	if N/uint64(p) <= 1 {
		return y, fmt.Errorf("%w: yescrypt parameters out of range", ErrMalformedHash)
	}
	salt, ok := decodeYescryptBytes(saltStr)
	if !ok || len(salt) > yescryptMaxSalt {
		return y, fmt.Errorf("%w: yescrypt salt", ErrMalformedHash)
	}
	if len(hash) != yescryptHashLen {
		return y, fmt.Errorf("%w: yescrypt hash is %d characters, want %d", ErrMalformedHash, len(hash), yescryptHashLen)
	}
	if raw, ok := decodeYescryptBytes(hash); !ok || len(raw) != 32 {
		return y, fmt.Errorf("%w: yescrypt hash not crypt base64", ErrMalformedHash)
	}
	return yescryptHash{N: N, r: r, p: p, salt: salt, hash: hash}, nil
}

// verifyYescrypt checks pw against a $y$ string; the comparison is
// constant-time.
func verifyYescrypt(c string, pw []byte) (bool, error) {
	y, err := parseYescrypt(c)
	if err != nil {
		return false, err
	}
	sum, err := y.derive(pw)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(encodeYescryptBytes(sum)), []byte(y.hash)) == 1, nil
}

// derive is yescrypt_kdf for YESCRYPT_DEFAULTS, t=0 and no ROM, with a
// 32-byte output, as yescrypt_r calls it.
func (y yescryptHash) derive(pw []byte) (key []byte, err error) {
	// V, the most of it, in KiB.
	withMemory(128*uint64(y.r)*y.N>>10, func() { key, err = y.deriveAll(pw) })
	return key, err
}

func (y yescryptHash) deriveAll(pw []byte) ([]byte, error) {
	N, r, p := y.N, y.r, y.p
	if N/uint64(p) >= 0x100 && N/uint64(p)*uint64(r) >= 0x20000 {
		// Pre-hash with a 64th of the memory first, as yescrypt_kdf does.
		dk, err := yescryptBody(pw, y.salt, N>>6, r, p, true)
		if err != nil {
			return nil, err
		}
		pw = dk
	}
	return yescryptBody(pw, y.salt, N, r, p, false)
}

func yescryptBody(passwd, salt []byte, N uint64, r, p uint32, prehash bool) ([]byte, error) {
	key := "yescrypt"
	if prehash {
		key = "yescrypt-prehash"
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(passwd)
	pre := mac.Sum(nil)

	s := 32 * int(r) // uint32 words in one 128·r-byte block
	bBytes, err := pbkdf2.Key(sha256.New, string(pre), salt, 1, 128*int(r)*int(p))
	if err != nil {
		return nil, fmt.Errorf("yescrypt: %w", err)
	}
	B := make([]uint32, s*int(p))
	for i := range B {
		B[i] = binary.LittleEndian.Uint32(bBytes[4*i:])
	}
	// From here the password is the first 32 bytes of B (then mixed with
	// B_0 in smix).
	passwd = append([]byte(nil), bBytes[:32]...)

	V := make([]uint32, uint64(s)*N)
	XY := make([]uint32, 2*s)
	ctx := make([]pwxform, p)
	for i := range ctx {
		ctx[i].S = make([]uint32, sWords)
	}
	passwd = yescryptSMix(B, int(r), N, int(p), V, XY, ctx, passwd)

	out := make([]byte, 4*len(B))
	for i, w := range B {
		binary.LittleEndian.PutUint32(out[4*i:], w)
	}
	dk, err := pbkdf2.Key(sha256.New, string(passwd), out, 1, 32)
	if err != nil {
		return nil, fmt.Errorf("yescrypt: %w", err)
	}
	if prehash {
		return dk, nil
	}
	// SCRAM's StoredKey: SHA-256(HMAC(dk, "Client Key")).
	mac = hmac.New(sha256.New, dk)
	mac.Write([]byte("Client Key"))
	stored := sha256.Sum256(mac.Sum(nil))
	return stored[:], nil
}

// pwxform holds one lane's S-boxes: S0, S1 and S2 are word offsets into S
// of three 4 KiB boxes, rotated after each pwxform; w is the next pair S2
// takes.
type pwxform struct {
	S          []uint32
	s0, s1, s2 int
	w          int
}

// round is pwxform on one 64-byte block X (in SMix's shuffled word order,
// as the reference keeps it): X[j][k] is the 64-bit pair X[4j+2k], X[4j+2k+1].
func (c *pwxform) round(X []uint32) {
	S := c.S
	w := c.w
	for i := 0; i < pwxRounds; i++ {
		for j := 0; j < pwxGather; j++ {
			xl, xh := X[4*j], X[4*j+1]
			p0 := c.s0 + int(xl&sMask)/4
			p1 := c.s1 + int(xh&sMask)/4
			for k := 0; k < pwxSimple; k++ {
				s0 := uint64(S[p0+2*k+1])<<32 | uint64(S[p0+2*k])
				s1 := uint64(S[p1+2*k+1])<<32 | uint64(S[p1+2*k])
				x := uint64(X[4*j+2*k+1]) * uint64(X[4*j+2*k])
				x += s0
				x ^= s1
				X[4*j+2*k], X[4*j+2*k+1] = uint32(x), uint32(x>>32)
				if i != 0 && i != pwxRounds-1 {
					S[c.s2+2*w], S[c.s2+2*w+1] = uint32(x), uint32(x>>32)
					w++
				}
			}
		}
	}
	c.s0, c.s1, c.s2 = c.s2, c.s0, c.s1
	c.w = w & ((1<<sWidth)*pwxSimple - 1)
}

// salsa20 applies Salsa20 with the given rounds to a 16-word block kept in
// SMix's shuffled order (word i of the block is word 5i mod 16 of Salsa's).
func salsa20(B []uint32, rounds int) {
	var x [16]uint32
	for i := 0; i < 16; i++ {
		x[i*5%16] = B[i]
	}
	rl := bits.RotateLeft32
	for i := 0; i < rounds; i += 2 {
		x[4] ^= rl(x[0]+x[12], 7)
		x[8] ^= rl(x[4]+x[0], 9)
		x[12] ^= rl(x[8]+x[4], 13)
		x[0] ^= rl(x[12]+x[8], 18)
		x[9] ^= rl(x[5]+x[1], 7)
		x[13] ^= rl(x[9]+x[5], 9)
		x[1] ^= rl(x[13]+x[9], 13)
		x[5] ^= rl(x[1]+x[13], 18)
		x[14] ^= rl(x[10]+x[6], 7)
		x[2] ^= rl(x[14]+x[10], 9)
		x[6] ^= rl(x[2]+x[14], 13)
		x[10] ^= rl(x[6]+x[2], 18)
		x[3] ^= rl(x[15]+x[11], 7)
		x[7] ^= rl(x[3]+x[15], 9)
		x[11] ^= rl(x[7]+x[3], 13)
		x[15] ^= rl(x[11]+x[7], 18)

		x[1] ^= rl(x[0]+x[3], 7)
		x[2] ^= rl(x[1]+x[0], 9)
		x[3] ^= rl(x[2]+x[1], 13)
		x[0] ^= rl(x[3]+x[2], 18)
		x[6] ^= rl(x[5]+x[4], 7)
		x[7] ^= rl(x[6]+x[5], 9)
		x[4] ^= rl(x[7]+x[6], 13)
		x[5] ^= rl(x[4]+x[7], 18)
		x[11] ^= rl(x[10]+x[9], 7)
		x[8] ^= rl(x[11]+x[10], 9)
		x[9] ^= rl(x[8]+x[11], 13)
		x[10] ^= rl(x[9]+x[8], 18)
		x[12] ^= rl(x[15]+x[14], 7)
		x[13] ^= rl(x[12]+x[15], 9)
		x[14] ^= rl(x[13]+x[12], 13)
		x[15] ^= rl(x[14]+x[13], 18)
	}
	for i := 0; i < 16; i++ {
		B[i] += x[i*5%16]
	}
}

func blkxor(dst, src []uint32) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// blockMixSalsa8 is scrypt's BlockMix (used here only to fill the S-boxes).
func blockMixSalsa8(B, Y []uint32, r int) {
	var X [16]uint32
	copy(X[:], B[(2*r-1)*16:2*r*16])
	for i := 0; i < 2*r; i++ {
		blkxor(X[:], B[i*16:(i+1)*16])
		salsa20(X[:], 8)
		copy(Y[i*16:], X[:])
	}
	for i := 0; i < r; i++ {
		copy(B[i*16:(i+1)*16], Y[2*i*16:(2*i+1)*16])
		copy(B[(i+r)*16:(i+r+1)*16], Y[(2*i+1)*16:(2*i+2)*16])
	}
}

// blockMixPwxform is yescrypt's BlockMix: pwxform over each 64-byte block
// in turn, then Salsa20/2 on the last.
func blockMixPwxform(B []uint32, c *pwxform, r int) {
	r1 := 2 * r
	var X [pwxWords]uint32
	copy(X[:], B[(r1-1)*pwxWords:r1*pwxWords])
	for i := 0; i < r1; i++ {
		if r1 > 1 {
			blkxor(X[:], B[i*pwxWords:(i+1)*pwxWords])
		}
		c.round(X[:])
		copy(B[i*pwxWords:], X[:])
	}
	salsa20(B[(r1-1)*16:r1*16], 2)
}

func integerify(X []uint32, r int) uint64 {
	last := X[(2*r-1)*16:]
	return uint64(last[13])<<32 | uint64(last[0])
}

func p2floor(x uint64) uint64 {
	for y := x & (x - 1); y != 0; y = x & (x - 1) {
		x = y
	}
	return x
}

func wrap(x, i uint64) uint64 {
	n := p2floor(i)
	return x&(n-1) + (i - n)
}

// shuffleIn and shuffleOut move a block between B's order and SMix's.
func shuffleIn(X, B []uint32, r int) {
	for k := 0; k < 2*r; k++ {
		for i := 0; i < 16; i++ {
			X[k*16+i] = B[k*16+i*5%16]
		}
	}
}

func shuffleOut(B, X []uint32, r int) {
	for k := 0; k < 2*r; k++ {
		for i := 0; i < 16; i++ {
			B[k*16+i*5%16] = X[k*16+i]
		}
	}
}

// smix1 fills V (N blocks), with the RW variant's reads when rw.
func smix1(B []uint32, r int, N uint64, rw bool, V, XY []uint32, c *pwxform) {
	s := 32 * r
	X, Y := XY[:s], XY[s:2*s]
	shuffleIn(X, B, r)
	for i := uint64(0); i < N; i++ {
		copy(V[i*uint64(s):], X)
		if rw && i > 1 {
			j := wrap(integerify(X, r), i)
			blkxor(X, V[j*uint64(s):j*uint64(s)+uint64(s)])
		}
		if c != nil {
			blockMixPwxform(X, c, r)
		} else {
			blockMixSalsa8(X, Y, r)
		}
	}
	shuffleOut(B, X, r)
}

// smix2 reads (and with rw writes back) V, N a power of two, nloop times.
func smix2(B []uint32, r int, N, nloop uint64, rw bool, V, XY []uint32, c *pwxform) {
	s := uint64(32 * r)
	X := XY[:s]
	shuffleIn(X, B, r)
	for i := uint64(0); i < nloop; i++ {
		j := integerify(X, r) & (N - 1)
		Vj := V[j*s : j*s+s]
		blkxor(X, Vj)
		if rw {
			copy(Vj, X)
		}
		blockMixPwxform(X, c, r)
	}
	shuffleOut(B, X, r)
}

// yescryptSMix is yescrypt's SMix for the RW mode and t=0; it returns the
// password mixed with the first lane, as the final PBKDF2 takes it.
func yescryptSMix(B []uint32, r int, N uint64, p int, V, XY []uint32, ctx []pwxform, passwd []byte) []byte {
	s := uint64(32 * r)
	nchunk := N / uint64(p)
	nloopAll := (nchunk + 2) / 3 // t = 0: a third, rounded up
	nloopRW := nloopAll / uint64(p)
	nchunk &^= 1
	nloopAll = (nloopAll + 1) &^ 1
	nloopRW = (nloopRW + 1) &^ 1

	vchunk := uint64(0)
	for i := 0; i < p; i++ {
		np := nchunk
		if i == p-1 {
			np = N - vchunk
		}
		Bp := B[uint64(i)*s : uint64(i+1)*s]
		Vp := V[vchunk*s:]
		c := &ctx[i]
		smix1(Bp, 1, sWords/32, false, c.S, XY, nil)
		c.s2, c.s1, c.s0, c.w = 0, sBoxWords, 2*sBoxWords, 0
		if i == 0 {
			var k [64]byte
			for n, w := range Bp[s-16:] {
				binary.LittleEndian.PutUint32(k[4*n:], w)
			}
			mac := hmac.New(sha256.New, k[:])
			mac.Write(passwd)
			passwd = mac.Sum(nil)
		}
		smix1(Bp, r, np, true, Vp, XY, c)
		smix2(Bp, r, p2floor(np), nloopRW, true, Vp, XY, c)
		vchunk += nchunk
	}
	for i := 0; i < p; i++ {
		Bp := B[uint64(i)*s : uint64(i+1)*s]
		smix2(Bp, r, N, nloopAll-nloopRW, false, V, XY, &ctx[i])
	}
	return passwd
}
