package directory

import (
	"context"

	"keystage.dev/keystage/audit"
)

// AddPasskey stores a new passkey of a's, named name, whose WebAuthn
// credential is secret (JSON), with its audit event. A non-empty codeHash
// spends that enrolment code in the same transaction, so that a code used
// or expired meanwhile adds nothing (ErrEnrolmentCode).
func (d *Directory) AddPasskey(ctx context.Context, actor string, a Account, name, secret, codeHash string) (Credential, error) {
	c := Credential{AccountID: a.ID, Kind: CredPasskey, Name: name, Secret: secret, CreatedAt: d.Now()}
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if codeHash != "" {
			if err := d.SpendPasskeyEnrolment(ctx, tx, actor, a, codeHash); err != nil {
				return err
			}
		}
		if err := tx.AddCredential(ctx, &c); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionPasskeyAdd, audit.AccountTarget(a.Username), nil,
			map[string]any{"credential_id": c.ID, "name": name})
	})
	return c, err
}

// RenamePasskey gives a's passkey c a new name.
func (d *Directory) RenamePasskey(ctx context.Context, actor string, a Account, c Credential, name string) error {
	return d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if _, err := tx.UpdateCredential(ctx, c.ID, func(x *Credential) error { x.Name = name; return nil }); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionPasskeyRename, audit.AccountTarget(a.Username),
			map[string]any{"credential_id": c.ID, "name": c.Name}, map[string]any{"credential_id": c.ID, "name": name})
	})
}

// RemovePasskey revokes a's passkey c (kept, revoked, for the record).
func (d *Directory) RemovePasskey(ctx context.Context, actor string, a Account, c Credential) error {
	now := d.Now()
	return d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if _, err := tx.UpdateCredential(ctx, c.ID, func(x *Credential) error { x.RevokedAt = now; return nil }); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionPasskeyRemove, audit.AccountTarget(a.Username),
			map[string]any{"credential_id": c.ID, "name": c.Name}, nil)
	})
}
