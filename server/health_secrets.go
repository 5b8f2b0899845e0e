package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"keystage.dev/keystage/directory"
)

// secretsCheckEvery bounds how often /healthz asks the database which keys
// sealed its secrets: a load balancer polling every second costs one
// small query per this interval, not one per poll.
const secretsCheckEvery = 10 * time.Second

// secretsHealth is the part of /healthz that says whether this node's key
// file opens the secrets in the store. A node that cannot would drop every
// RADIUS packet as from an unknown client while answering "ok"; another
// node's key rotation it has not been given also shows here.
type secretsHealth struct {
	d   *directory.Directory
	now func() time.Time

	mu      sync.Mutex
	checked time.Time
	err     error
}

func newSecretsHealth(d *directory.Directory) *secretsHealth {
	return &secretsHealth{d: d, now: time.Now}
}

// check returns an error a person can act on when the key file cannot
// open the store's secrets; nil otherwise, and nil when the database
// cannot be asked (the database check says so).
func (h *secretsHealth) check(ctx context.Context) error {
	if h.d == nil || h.d.Sealer() == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.checked.IsZero() && h.now().Sub(h.checked) < secretsCheckEvery {
		return h.err
	}
	err := directory.CheckSealer(ctx, h.d.Store(), h.d.Sealer())
	var mis *directory.SealerMismatchError
	if err != nil && !errors.As(err, &mis) {
		return nil // not known; ask again on the next poll
	}
	h.checked, h.err = h.now(), nil
	if mis != nil {
		h.err = fmt.Errorf("secrets cannot be opened: %v; give this node the key file the others use, then restart it", mis)
	}
	return h.err
}
