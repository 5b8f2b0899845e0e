package main

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

// reloadingSealer is keystage serve's keyring. `keystage keys rotate`, run
// beside the server (or on another node), writes a key file that keeps the
// old keys and adds a new one, then re-seals every secret under the new
// key. A server that kept the keyring it started with could then open no
// Wi-Fi credential or NAS secret. So when a sealed value names a key this
// keyring lacks, it reads the key file again (at most once every
// keyReloadEvery) and takes the new keyring if it opens the store's
// secrets; new secrets are sealed under its current key from then on.
type reloadingSealer struct {
	path string
	r    directory.Reader
	log  *slog.Logger
	ring atomic.Pointer[passwords.Keyring]

	mu   sync.Mutex // over last
	last time.Time
}

var _ directory.Sealer = (*reloadingSealer)(nil)

func newReloadingSealer(path string, r directory.Reader, log *slog.Logger, ring *passwords.Keyring) *reloadingSealer {
	s := &reloadingSealer{path: path, r: r, log: log}
	s.ring.Store(ring)
	return s
}

func (s *reloadingSealer) Seal(plaintext, additionalData []byte) (string, error) {
	return s.ring.Load().Seal(plaintext, additionalData)
}

func (s *reloadingSealer) CurrentID() string { return s.ring.Load().CurrentID() }

func (s *reloadingSealer) Open(sealed string, additionalData []byte) ([]byte, error) {
	k := s.ring.Load()
	out, err := k.Open(sealed, additionalData)
	if !errors.Is(err, passwords.ErrUnknownKey) {
		return out, err
	}
	if nk := s.reload(k); nk != nil {
		return nk.Open(sealed, additionalData)
	}
	return out, err
}

// reload reads the key file again unless another call just did; it returns
// the keyring to try, or nil when there is no newer one.
func (s *reloadingSealer) reload(had *passwords.Keyring) *passwords.Keyring {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.ring.Load(); cur != had {
		return cur // reloaded meanwhile
	}
	if time.Since(s.last) < keyReloadEvery {
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
	s.ring.Store(k)
	s.log.Info("key file read again: keystage keys rotate added a key", "path", s.path, "current", k.CurrentID())
	return k
}
