package passwords

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2Hash is a parsed argon2id PHC string.
type argon2Hash struct {
	Argon2Params
	salt, key []byte
	// argon2i: the $argon2i$ variant, which OpenLDAP's argon2 module
	// writes under {ARGON2}; verified, never written by Hash.
	argon2i bool
}

// variant is the PHC identifier.
func (a argon2Hash) variant() string {
	if a.argon2i {
		return "argon2i"
	}
	return "argon2id"
}

// derive computes the key of pw under a's variant and parameters, within
// the memory budget of the memory-hard hashes.
func (a argon2Hash) derive(pw []byte) (key []byte) {
	withMemory(uint64(a.Memory), func() {
		if a.argon2i {
			key = argon2.Key(pw, a.salt, a.Iterations, a.Memory, a.Parallelism, a.KeyLen)
			return
		}
		key = argon2.IDKey(pw, a.salt, a.Iterations, a.Memory, a.Parallelism, a.KeyLen)
	})
	return key
}

var b64 = base64.RawStdEncoding

func (a argon2Hash) encode() string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s",
		a.variant(), argon2.Version, a.Memory, a.Iterations, a.Parallelism,
		b64.EncodeToString(a.salt), b64.EncodeToString(a.key))
}

// parseArgon2 parses $argon2id$v=19$m=M,t=T,p=P$salt$key (or $argon2i$, as
// OpenLDAP's argon2 module writes), strictly: version
// 19 only, parameters in that order, unpadded base64, and every parameter
// within Argon2Params.Validate so that a planted hash cannot ask for a
// terabyte of memory.
func parseArgon2(s string) (argon2Hash, error) {
	var a argon2Hash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return a, fmt.Errorf("%w: want 6 $-separated fields", ErrMalformedHash)
	}
	a.argon2i = parts[1] == "argon2i"
	if parts[2] != "v=19" {
		return a, fmt.Errorf("%w: version %q, want v=19", ErrUnsupportedHash, parts[2])
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return a, fmt.Errorf("%w: want m=,t=,p=", ErrMalformedHash)
	}
	var nums [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return a, fmt.Errorf("%w: want m=,t=,p=", ErrMalformedHash)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return a, fmt.Errorf("%w: %s not a number", ErrMalformedHash, name[:1])
		}
		nums[i] = n
	}
	if nums[2] > 255 {
		return a, fmt.Errorf("%w: parallelism %d above 255", ErrUnsupportedHash, nums[2])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return a, fmt.Errorf("%w: salt not base64", ErrMalformedHash)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return a, fmt.Errorf("%w: key not base64", ErrMalformedHash)
	}
	a.Argon2Params = Argon2Params{
		Memory: uint32(nums[0]), Iterations: uint32(nums[1]), Parallelism: uint8(nums[2]),
		SaltLen: uint32(len(salt)), KeyLen: uint32(len(key)),
	}
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("%w: %v", ErrUnsupportedHash, err)
	}
	a.salt, a.key = salt, key
	return a, nil
}
