package server

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

// keyReloadEvery bounds how often a server reads its key file again.
const keyReloadEvery = time.Second

// ReloadingSealer is keystage serve's keyring. `keystage keys rotate`, run
// beside the server (or on another node), writes a key file that keeps the
// old keys and adds a new one, then re-seals every secret under the new
// key. A server that kept the keyring it started with could then open no
// Wi-Fi credential or NAS secret, and would go on sealing new ones under
// the old key, which the technician may delete from the file once the
// rotation is done. So the server reads the key file again when the store
// tells of the rotation (its audit target, keyringTarget: from this
// process, another, or another node) and, as a backstop, when a sealed
// value names a key this keyring lacks (at most once every
// keyReloadEvery); it takes the new keyring if it opens the store's
// secrets, and seals under its current key from then on.
type ReloadingSealer struct {
	path string
	r    directory.Reader
	log  *slog.Logger
	ring atomic.Pointer[passwords.Keyring]

	mu   sync.Mutex // over last
	last time.Time
}

var _ directory.Sealer = (*ReloadingSealer)(nil)

// NewReloadingSealer starts with ring, read from the key file at path, and
// checks a newer key file against the secrets r holds.
func NewReloadingSealer(path string, r directory.Reader, log *slog.Logger, ring *passwords.Keyring) *ReloadingSealer {
	s := &ReloadingSealer{path: path, r: r, log: log}
	s.ring.Store(ring)
	return s
}

func (s *ReloadingSealer) Seal(plaintext, additionalData []byte) (string, error) {
	return s.ring.Load().Seal(plaintext, additionalData)
}

func (s *ReloadingSealer) CurrentID() string { return s.ring.Load().CurrentID() }

func (s *ReloadingSealer) Open(sealed string, additionalData []byte) ([]byte, error) {
	k := s.ring.Load()
	out, err := k.Open(sealed, additionalData)
	if !errors.Is(err, passwords.ErrUnknownKey) {
		return out, err
	}
	if nk := s.reload(k, false); nk != nil {
		return nk.Open(sealed, additionalData)
	}
	return out, err
}

// keyringTarget is the audit target of keys rotate.
const keyringTarget = "keyring"

// Watch reloads the key file whenever the store tells of a rotation (or
// may have missed one), until ctx ends.
func (s *ReloadingSealer) Watch(ctx context.Context, w directory.Watcher) error {
	return w.Watch(ctx, func(targets []string) {
		for _, t := range targets {
			if t == keyringTarget || t == directory.AllTargets {
				go s.reload(s.ring.Load(), true)
				return
			}
		}
	})
}

// reload reads the key file again unless another call just did (force:
// whatever the time); it returns the keyring to try, or nil when there is
// no newer one.
func (s *ReloadingSealer) reload(had *passwords.Keyring, force bool) *passwords.Keyring {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.ring.Load(); cur != had {
		return cur // reloaded meanwhile
	}
	if !force && time.Since(s.last) < keyReloadEvery {
		return nil
	}
	s.last = time.Now()
	data, err := os.ReadFile(s.path)
	if err != nil {
		s.log.Warn("a secret is sealed under a key this server lacks, and the key file cannot be read again", "path", s.path, "err", err)
		return nil
	}
	k, err := passwords.ParseKeyFile(data)
	if err != nil {
		s.log.Warn("a secret is sealed under a key this server lacks, and the key file does not parse", "path", s.path, "err", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := directory.CheckSealer(ctx, s.r, k); err != nil {
		s.log.Warn("a secret is sealed under a key this server lacks, and the key file does not open the store's secrets either: "+
			"copy the key file that keystage keys rotate wrote to this node", "path", s.path, "err", err)
		return nil
	}
	if k.CurrentID() == had.CurrentID() && len(k.IDs()) == len(had.IDs()) {
		return nil // the same keys
	}
	s.ring.Store(k)
	s.log.Info("key file read again: keystage keys rotate added a key", "path", s.path, "current", k.CurrentID())
	return k
}
