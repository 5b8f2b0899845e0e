package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"keystage.dev/keystage/passwords"
)

// The kinds of sealed secret that SealedKeys reports.
const (
	SealedWiFi = "wifi" // Wi-Fi credentials, sealed with SealWiFi
	SealedNAS  = "nas"  // NAS shared secrets, sealed with SealNAS
)

// SealedKey is one key id under which secrets of one kind are sealed in
// the store.
type SealedKey struct {
	Kind  string // SealedWiFi or SealedNAS
	KeyID string // as stored beside the secrets
	Count int
	// Sample is one of the sealed values, so that a keyring can be tried
	// on it without opening every secret.
	Sample string
}

// additionalData is what secrets of kind k were sealed with.
func (k SealedKey) additionalData() []byte {
	if k.Kind == SealedNAS {
		return []byte(SealNAS)
	}
	return []byte(SealWiFi)
}

// SealerMismatchError says that a keyring cannot open the secrets in the
// store: the key ids it lacks, and those it holds under the same id with
// other key material.
type SealerMismatchError struct {
	Missing []string // key ids the store's secrets name that the keyring does not hold
	Wrong   []string // key ids the keyring holds with other material than sealed the secrets
	Secrets int      // how many secrets cannot be opened
}

func (e *SealerMismatchError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "it lacks key id(s) "+strings.Join(e.Missing, ", "))
	}
	if len(e.Wrong) > 0 {
		parts = append(parts, "its key(s) "+strings.Join(e.Wrong, ", ")+" are not the ones that sealed them")
	}
	return fmt.Sprintf("the key file cannot open %d secret(s) in the database: %s", e.Secrets, strings.Join(parts, "; "))
}

// CheckSealer tries s on one secret of each kind and key id in the store,
// and returns a *SealerMismatchError naming every key id it cannot open.
// A node must not serve, nor seal anything, with such a keyring: what it
// sealed the other nodes could not open, and what they sealed it cannot.
// A store with no sealed secret accepts any keyring.
func CheckSealer(ctx context.Context, r Reader, s Sealer) error {
	keys, err := r.SealedKeys(ctx)
	if err != nil {
		return fmt.Errorf("checking the key file against the database: %w", err)
	}
	var mis SealerMismatchError
	for _, k := range keys {
		id := k.KeyID
		if sid, err := passwords.SealedKeyID(k.Sample); err == nil {
			id = sid
		}
		_, err := s.Open(k.Sample, k.additionalData())
		switch {
		case err == nil:
			continue
		case errors.Is(err, passwords.ErrUnknownKey):
			if !slices.Contains(mis.Missing, id) {
				mis.Missing = append(mis.Missing, id)
			}
		default:
			if !slices.Contains(mis.Wrong, id) {
				mis.Wrong = append(mis.Wrong, id)
			}
		}
		mis.Secrets += k.Count
	}
	if mis.Secrets == 0 {
		return nil
	}
	slices.Sort(mis.Missing)
	slices.Sort(mis.Wrong)
	return &mis
}

// HasSealedSecrets reports whether the store holds any sealed secret, so
// that a new key file may be made only for a store that has none.
func HasSealedSecrets(ctx context.Context, r Reader) (bool, error) {
	keys, err := r.SealedKeys(ctx)
	if err != nil {
		return false, err
	}
	return len(keys) > 0, nil
}

// SealChecked seals plaintext with d.sealer once CheckSealer has found it
// able to open what the store holds, and returns the sealed value and the
// id of the key that sealed it. Every new secret is sealed through it, so
// that no node seals under a key the others lack.
func (d *Directory) SealChecked(ctx context.Context, plaintext, additionalData []byte) (string, string, error) {
	if err := CheckSealer(ctx, d.store, d.sealer); err != nil {
		return "", "", err
	}
	sealed, err := d.sealer.Seal(plaintext, additionalData)
	if err != nil {
		return "", "", err
	}
	return sealed, d.sealer.CurrentID(), nil
}
