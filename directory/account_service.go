package directory

import (
	"context"
	"errors"
	"fmt"

	"keystage.dev/keystage/audit"
)

// CreateAccount stores a new account made by hand and adds it to the
// named groups, in one transaction with its events: a group that does not
// exist or that the MIS manages leaves nothing created. It sets a's ID
// and POSIX ids.
func (d *Directory) CreateAccount(ctx context.Context, actor string, a *Account, groups []string) error {
	for _, id := range append([]string{a.School}, a.AlsoSchools...) {
		if err := d.CheckSchool(id); err != nil {
			return fmt.Errorf("create account %s: %w", a.Username, err)
		}
	}
	return d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		if err := d.Record(ctx, tx, actor, audit.ActionAccountCreate, audit.AccountTarget(a.Username), nil, a.Snapshot()); err != nil {
			return err
		}
		for _, name := range groups {
			g, err := tx.GroupByName(ctx, name)
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("group %s: %w: make it first with keystage group add %s (keystage init makes the portal's role groups); nothing was created", name, err, name)
			}
			if err != nil {
				return fmt.Errorf("group %s: %w", name, err)
			}
			if IsManagedByMIS(g) {
				return fmt.Errorf("group %s: %w; nothing was created", name, ErrManagedByMIS)
			}
			if err := tx.AddMember(ctx, g.ID, a.ID); err != nil {
				return err
			}
			if err := d.Record(ctx, tx, actor, audit.ActionGroupAddMember, audit.Target(audit.KindGroup, g.Name), nil, map[string]string{"member": a.Username}); err != nil {
				return err
			}
		}
		return nil
	})
}
