package directory

import (
	"context"
	"fmt"

	"keystage.dev/keystage/audit"
)

// SetLegalNameWithheld withholds (or shows again) a person's legal name
// in the register and the subject access export: for an adopted or
// looked-after child, whose legal name must not be seen. It is one
// transaction with its audit event; changed is false when the account
// already stood so.
func (d *Directory) SetLegalNameWithheld(ctx context.Context, actor, username string, withheld bool) (a Account, changed bool, err error) {
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		old, err := tx.AccountByUsername(ctx, username)
		if err != nil {
			return err
		}
		if old.LegalNameWithheld == withheld {
			a = old
			return nil
		}
		a, err = tx.UpdateAccount(ctx, old.ID, func(x *Account) error {
			x.LegalNameWithheld = withheld
			return nil
		})
		if err != nil {
			return err
		}
		changed = true
		// Snapshots, as every account change records, so that the register
		// as of a past date knows when the name was withheld.
		return d.Record(ctx, tx, actor, audit.ActionAccountLegalName, audit.AccountTarget(a.Username), old.Snapshot(), a.Snapshot())
	})
	if err != nil {
		return a, false, fmt.Errorf("legal name of %s: %w", username, err)
	}
	return a, changed, nil
}
