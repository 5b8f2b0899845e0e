package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// PendingPassword is a login password set in Keystage and waiting to be
// pushed to a downstream directory (Active Directory), which needs the
// password itself: Keystage keeps only its hash, so the clear text is
// sealed (see PendingPasswordAD) in the same transaction that sets the
// hash, and deleted by the transaction that records its push. There is at
// most one per account and downstream: a newer password replaces the
// older one.
type PendingPassword struct {
	ID         int64
	Downstream string // "ad"
	AccountID  int64
	Sealed     string // the password, sealed with the directory's Sealer
	KeyID      string
	MustChange bool // a first password: the person changes it at next logon
	CreatedAt  time.Time
	// Attempts counts failed pushes; LastError is the last one's error
	// (never the password).
	Attempts  int
	LastError string
}

// DownstreamReader reads the passwords waiting for downstream directories.
type DownstreamReader interface {
	// PendingPasswords lists the passwords waiting for downstream, oldest
	// first, at most limit (0: no limit).
	PendingPasswords(ctx context.Context, downstream string, limit int) ([]PendingPassword, error)
}

// DownstreamWriter changes the passwords waiting for downstream
// directories; like every change, it commits with an audit event.
type DownstreamWriter interface {
	// PutPendingPassword stores p, replacing any password already waiting
	// for the same account and downstream; it sets ID and, when zero,
	// CreatedAt.
	PutPendingPassword(ctx context.Context, p *PendingPassword) error
	// DeletePendingPassword deletes one (no error when already gone).
	DeletePendingPassword(ctx context.Context, id int64) error
	// NotePendingPasswordFailure counts a failed push of one, with its
	// error.
	NotePendingPasswordFailure(ctx context.Context, id int64, msg string) error
}

// ErrNoSealer is a password that must be queued for a downstream directory
// by a directory given no sealer: the key file is needed.
var ErrNoSealer = errors.New("a downstream directory (Active Directory) needs the password sealed, but no key file was loaded: make it with keystage init, or point secrets.key_file at it")

// PendingPasswordAD is the additional data a password waiting for a
// downstream directory is sealed with: it binds the sealed value to its
// purpose, its downstream and its account, so that it opens as nothing
// else and for no one else.
func PendingPasswordAD(downstream string, accountID int64) []byte {
	return []byte("keystage downstream password " + downstream + " account " + strconv.FormatInt(accountID, 10))
}

// queueDownstreamPassword seals password for every downstream directory
// that receives passwords, inside the caller's transaction.
func (d *Directory) queueDownstreamPassword(ctx context.Context, tx Tx, a Account, password string, mustChange bool, now time.Time) error {
	for _, ds := range d.passwordDownstreams {
		if d.sealer == nil {
			return ErrNoSealer
		}
		sealed, err := d.sealer.Seal([]byte(password), PendingPasswordAD(ds, a.ID))
		if err != nil {
			return fmt.Errorf("seal password for %s: %w", ds, err)
		}
		p := PendingPassword{Downstream: ds, AccountID: a.ID, Sealed: sealed, KeyID: d.sealer.CurrentID(), MustChange: mustChange, CreatedAt: now}
		if err := tx.PutPendingPassword(ctx, &p); err != nil {
			return err
		}
	}
	return nil
}

// PasswordDownstreams names the downstream directories that receive every
// password set in Keystage.
func (d *Directory) PasswordDownstreams() []string { return d.passwordDownstreams }
