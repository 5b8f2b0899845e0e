package audit

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Checkpoint vouches, under an Ed25519 signature, that the event at Seq had
// Hash when it was signed at Time. The hash chain alone shows that events
// fit together; only a signature made before tampering shows that someone
// with database access did not rewrite every hash after the event they
// changed.
type Checkpoint struct {
	Seq       int64
	Hash      string
	Time      time.Time
	KeyID     string // which key signed, so that a rotated key is told apart
	Signature []byte
}

// Errors about checkpoints and signing keys.
var (
	ErrBadSignature = errors.New("checkpoint signature does not verify")
	ErrUnknownKey   = errors.New("checkpoint signed by a key that is not configured")
	ErrBadKey       = errors.New("not an Ed25519 signing key")
)

// checkpointContext separates checkpoint signatures from any other use of
// the key.
const checkpointContext = "keystage audit checkpoint v1\x00"

func checkpointMessage(seq int64, hash string, at time.Time) []byte {
	msg := make([]byte, 0, len(checkpointContext)+16+len(hash))
	msg = append(msg, checkpointContext...)
	msg = binary.BigEndian.AppendUint64(msg, uint64(seq))
	msg = binary.BigEndian.AppendUint64(msg, uint64(at.UTC().UnixMicro()))
	return append(msg, hash...)
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Signer signs checkpoints.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner signs with key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, id: KeyID(key.Public().(ed25519.PublicKey))}
}

// Public is the key that verifies this signer's checkpoints.
func (s *Signer) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign makes the checkpoint of the event (seq, hash) at time at.
func (s *Signer) Sign(seq int64, hash string, at time.Time) Checkpoint {
	at = at.UTC().Truncate(time.Microsecond)
	sig, err := s.key.Sign(nil, checkpointMessage(seq, hash, at), crypto.Hash(0))
	if err != nil {
		panic("audit: ed25519 sign: " + err.Error()) // cannot fail for Ed25519
	}
	return Checkpoint{Seq: seq, Hash: hash, Time: at, KeyID: s.id, Signature: sig}
}

// Keys are the public keys that checkpoints may be signed by, by KeyID.
type Keys map[string]ed25519.PublicKey

// NewKeys holds the given public keys.
func NewKeys(pubs ...ed25519.PublicKey) Keys {
	k := Keys{}
	for _, p := range pubs {
		k[KeyID(p)] = p
	}
	return k
}

// Verify checks c's signature.
func (k Keys) Verify(c Checkpoint) error {
	pub, ok := k[c.KeyID]
	if !ok {
		return fmt.Errorf("checkpoint at event %d: %w (key %s)", c.Seq, ErrUnknownKey, c.KeyID)
	}
	if !ed25519.Verify(pub, checkpointMessage(c.Seq, c.Hash, c.Time), c.Signature) {
		return fmt.Errorf("checkpoint at event %d: %w", c.Seq, ErrBadSignature)
	}
	return nil
}

const pemPrivate, pemPublic = "PRIVATE KEY", "PUBLIC KEY"

// GenerateSigningKey makes a new key and returns it as a PEM PKCS #8 file.
func GenerateSigningKey() ([]byte, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}), nil
}

// ParseSigningKey reads a PEM PKCS #8 Ed25519 private key (what
// GenerateSigningKey writes, or `openssl genpkey -algorithm ed25519`).
func ParseSigningKey(data []byte) (ed25519.PrivateKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != pemPrivate {
		return nil, fmt.Errorf("%w: want a PEM %q block", ErrBadKey, pemPrivate)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: the key is a %T", ErrBadKey, k)
	}
	return key, nil
}

// PublicKeyPEM writes pub as a PEM SubjectPublicKeyInfo, which
// `openssl pkeyutl -verify` and other tools read.
func PublicKeyPEM(pub ed25519.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("audit: marshal ed25519 public key: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der})
}

// ParsePublicKey reads a public key as PublicKeyPEM writes it, or as the
// bare base64 of its 32 bytes.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	if b, _ := pem.Decode(data); b != nil {
		k, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: the key is a %T", ErrBadKey, k)
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: want PEM or the base64 of 32 bytes", ErrBadKey)
	}
	return ed25519.PublicKey(raw), nil
}
