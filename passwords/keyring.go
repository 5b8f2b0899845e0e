package passwords

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors of the keyring. Each is wrapped with what was wrong; match with errors.Is.
var (
	// ErrBadKeyring: a key file or key set that cannot be used.
	ErrBadKeyring = errors.New("passwords: bad keyring")
	// ErrUnknownKey: a sealed value names a key id the keyring does not hold.
	ErrUnknownKey = errors.New("passwords: unknown key id")
	// ErrSealed: a sealed value is malformed, or fails authentication (wrong
	// key material, other additional data, or tampered with).
	ErrSealed = errors.New("passwords: sealed value cannot be opened")
)

// sealPrefix names the format version of sealed values.
const sealPrefix = "ks1"

const keyLen = 32 // AES-256

const maxKeyIDLen = 64

// Keyring holds AES-256-GCM keys by key id, and the id of the current key,
// which seals; every key opens. It is immutable and safe for concurrent use.
// Its String and GoString never show key material.
type Keyring struct {
	current string
	order   []string // file order; current is last
	keys    map[string][]byte
	aeads   map[string]cipher.AEAD
}

// NewKeyring builds a keyring from keys by id (each 32 bytes; ids of 1 to 64
// letters, digits, ".", "_" or "-") with current as the sealing key. The keys
// are copied.
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	ids := make([]string, 0, len(keys))
	for id := range keys {
		if id != current {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("%w: current key %q is not among the keys", ErrBadKeyring, current)
	}
	return newKeyring(append(ids, current), keys)
}

func newKeyring(order []string, keys map[string][]byte) (*Keyring, error) {
	k := &Keyring{
		current: order[len(order)-1],
		order:   order,
		keys:    make(map[string][]byte, len(order)),
		aeads:   make(map[string]cipher.AEAD, len(order)),
	}
	for _, id := range order {
		if !validKeyID(id) {
			return nil, fmt.Errorf("%w: key id %q: use 1 to %d letters, digits, '.', '_' or '-'", ErrBadKeyring, id, maxKeyIDLen)
		}
		key := keys[id]
		if len(key) != keyLen {
			return nil, fmt.Errorf("%w: key %q has %d bytes, want %d", ErrBadKeyring, id, len(key), keyLen)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrBadKeyring, id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrBadKeyring, id, err)
		}
		k.keys[id] = bytes.Clone(key)
		k.aeads[id] = aead
	}
	return k, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// ParseKeyFile reads a key file. Its format, one key per line:
//
//	# comment lines and blank lines are ignored
//	<key id> <standard base64 of 32 random bytes>
//
// The last key in the file is the current one, which seals new values; the
// others only open values sealed before. Rotating is appending a line (see
// WithNewKey), then re-sealing, then, once nothing names an old key, deleting
// its line. Duplicate ids are refused.
func ParseKeyFile(data []byte) (*Keyring, error) {
	var order []string
	keys := make(map[string][]byte)
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: key file line %d: want \"<id> <base64 key>\"", ErrBadKeyring, n+1)
		}
		if _, dup := keys[f[0]]; dup {
			return nil, fmt.Errorf("%w: key file line %d: key id %q appears twice", ErrBadKeyring, n+1, f[0])
		}
		key, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil {
			return nil, fmt.Errorf("%w: key file line %d: key is not standard base64", ErrBadKeyring, n+1)
		}
		order = append(order, f[0])
		keys[f[0]] = key
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: key file holds no key", ErrBadKeyring)
	}
	return newKeyring(order, keys)
}

const keyFileHeader = `# Keystage sealing keys: "<key id> <base64 of 32 bytes>" per line.
# The last key is the current one and seals new values; the others only open
# old ones. Keep this file secret (mode 0600) and backed up apart from the
# database: without it, sealed Wi-Fi credentials cannot be opened.
`

// GenerateKeyFile returns the content of a new key file holding one fresh
// random key.
func GenerateKeyFile() ([]byte, error) {
	id, key, err := newKey()
	if err != nil {
		return nil, err
	}
	k, err := newKeyring([]string{id}, map[string][]byte{id: key})
	if err != nil {
		return nil, err
	}
	return k.KeyFile(), nil
}

// newKey returns a random key and a random id for it, "k" and 8 hex digits.
// The package has no clock, so the id cannot be a date.
func newKey() (string, []byte, error) {
	b := make([]byte, 4+keyLen)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("new key: %w", err)
	}
	return "k" + hex.EncodeToString(b[:4]), b[4:], nil
}

// WithNewKey returns a keyring holding k's keys and one fresh random key,
// which is current. k is unchanged. Write the result's KeyFile, then re-seal.
func (k *Keyring) WithNewKey() (*Keyring, error) {
	id, key, err := newKey()
	if err != nil {
		return nil, err
	}
	for k.keys[id] != nil { // 1 in 4 billion per existing key
		if id, key, err = newKey(); err != nil {
			return nil, err
		}
	}
	keys := make(map[string][]byte, len(k.keys)+1)
	for i, v := range k.keys {
		keys[i] = v
	}
	keys[id] = key
	return newKeyring(append(slices.Clone(k.order), id), keys)
}

// KeyFile returns k in the key file format, current key last.
func (k *Keyring) KeyFile() []byte {
	var b bytes.Buffer
	b.WriteString(keyFileHeader)
	for _, id := range k.order {
		fmt.Fprintf(&b, "%s %s\n", id, base64.StdEncoding.EncodeToString(k.keys[id]))
	}
	return b.Bytes()
}

// CurrentID is the id of the key that seals.
func (k *Keyring) CurrentID() string { return k.current }

// IDs are all key ids, current last.
func (k *Keyring) IDs() []string { return slices.Clone(k.order) }

// String shows the key ids only.
func (k *Keyring) String() string {
	return fmt.Sprintf("Keyring(current=%s, ids=%s)", k.current, strings.Join(k.order, ","))
}

// GoString shows the key ids only, so %#v does not print key material.
func (k *Keyring) GoString() string { return k.String() }

// Seal encrypts plaintext with the current key and returns
// "ks1:<key id>:<base64url, unpadded, of nonce || ciphertext || tag>". The
// nonce is 12 random bytes. additionalData (say the account id and what the
// secret is) is authenticated but not stored: Open needs the same bytes, so a
// sealed value moved to another account or field does not open. The
// "ks1:<key id>:" header is authenticated with it.
func (k *Keyring) Seal(plaintext, additionalData []byte) (string, error) {
	aead := k.aeads[k.current]
	header := sealPrefix + ":" + k.current + ":"
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return "", fmt.Errorf("seal: nonce: %w", err)
	}
	out = aead.Seal(out, out, plaintext, aad(header, additionalData))
	return header + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value from Seal with the key it names.
func (k *Keyring) Open(sealed string, additionalData []byte) ([]byte, error) {
	id, body, err := splitSealed(sealed)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("open: %w %q", ErrUnknownKey, id)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("open: %w: not base64url", ErrSealed)
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("open: %w: too short", ErrSealed)
	}
	nonce, ct := raw[:aead.NonceSize()], raw[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, ct, aad(sealPrefix+":"+id+":", additionalData))
	if err != nil {
		return nil, fmt.Errorf("open with key %q: %w: authentication failed", id, ErrSealed)
	}
	return pt, nil
}

// SealedKeyID returns the id of the key that sealed a value, so that a
// rotation can find what still needs re-sealing without opening anything.
func SealedKeyID(sealed string) (string, error) {
	id, _, err := splitSealed(sealed)
	return id, err
}

func splitSealed(sealed string) (id, body string, err error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix+":")
	if !ok {
		return "", "", fmt.Errorf("%w: does not start with %q", ErrSealed, sealPrefix+":")
	}
	id, body, ok = strings.Cut(rest, ":")
	if !ok || !validKeyID(id) {
		return "", "", fmt.Errorf("%w: no valid key id", ErrSealed)
	}
	return id, body, nil
}

func aad(header string, additionalData []byte) []byte {
	return append([]byte(header), additionalData...)
}
