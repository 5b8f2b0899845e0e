package directory

import (
	"context"
	"fmt"

	"keystage.dev/keystage/audit"
)

// Disable disables the account named username by hand (a leaver who goes
// before the MIS says so), with a reason kept in the audit trail, and ends
// its access after the change has committed. already is true, and nothing
// changes, when the account was disabled before.
func (d *Directory) Disable(ctx context.Context, actor, username, reason string) (a Account, already bool, err error) {
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		old, err := tx.AccountByUsername(ctx, username)
		if err != nil {
			return err
		}
		if old.Status == StatusDisabled {
			a, already = old, true
			return nil
		}
		a, err = tx.UpdateAccount(ctx, old.ID, func(x *Account) error {
			x.Status, x.DisabledAt, x.DisableReason = StatusDisabled, d.Now(), reason
			return nil
		})
		if err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionAccountDisable, audit.AccountTarget(a.Username), old.Snapshot(), a.Snapshot())
	})
	if err != nil {
		return a, false, fmt.Errorf("disable %s: %w", username, err)
	}
	if !already {
		d.EndAccess(ctx, a)
	}
	return a, already, nil
}
