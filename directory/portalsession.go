package directory

import (
	"context"
	"fmt"
	"time"

	"keystage.dev/keystage/audit"
)

// PortalSession is a sign-in session of the web portal, kept in the store
// so that every node shares it. ID is the SHA-256 (hex) of the token the
// browser holds, never the token itself.
type PortalSession struct {
	ID        string
	AccountID int64 // 0 before sign-in (a passkey ceremony in progress)
	CreatedAt time.Time
	SeenAt    time.Time
	ExpiresAt time.Time
	// Passkey records that the session was signed in with a passkey, which
	// staff roles may require.
	Passkey   bool
	Address   string
	UserAgent string
	// Data is the portal's own state for the session (a WebAuthn challenge
	// in progress, a one-time notice), opaque to the store.
	Data string
}

// PasskeyUse is a passkey's state after a sign-in with it: its WebAuthn
// credential (JSON) with the new signature counter, so that a cloned
// authenticator shows.
type PasskeyUse struct {
	CredentialID int64
	Secret       string
	At           time.Time
}

// RecordPortalSignin records a's sign-in to the portal in session sess,
// and, when the sign-in was with a passkey, that passkey's new state, in
// one transaction.
func (d *Directory) RecordPortalSignin(ctx context.Context, a Account, sess PortalSession, use *PasskeyUse) error {
	method := "password"
	if sess.Passkey {
		method = "passkey"
	}
	return d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if use != nil {
			_, err := tx.UpdateCredential(ctx, use.CredentialID, func(x *Credential) error {
				x.Secret, x.LastUsed = use.Secret, use.At
				return nil
			})
			if err != nil {
				return fmt.Errorf("passkey %d: %w", use.CredentialID, err)
			}
		}
		actor := audit.UserActor(a.Username)
		return d.Record(ctx, tx, actor, audit.ActionPortalSignin, audit.AccountTarget(a.Username), nil,
			map[string]string{"method": method, "address": sess.Address})
	})
}
