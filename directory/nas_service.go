package directory

import (
	"context"
	"fmt"

	"keystage.dev/keystage/audit"
)

// PutNAS stores a RADIUS client, or replaces the one of its name, with its
// shared secret sealed under the current key (checked against what the
// store holds, see SealChecked).
func (d *Directory) PutNAS(ctx context.Context, actor string, n NASClient, secret string) (NASClient, error) {
	if err := d.CheckSchool(n.School); err != nil {
		return n, fmt.Errorf("NAS client %s: %w", n.Name, err)
	}
	sealed, keyID, err := d.SealChecked(ctx, []byte(secret), []byte(SealNAS))
	if err != nil {
		return n, err
	}
	n.Secret, n.KeyID = sealed, keyID
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.PutNASClient(ctx, &n); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionNASAdd, audit.Target(audit.KindNAS, n.Name), nil,
			map[string]any{"addresses": FormatPrefixes(n.Addresses), "vendor": n.Vendor, "coa_port": n.CoAPort, "school": n.School})
	})
	return n, err
}

// RemoveNAS deletes the RADIUS client called name; found is false when
// there is none.
func (d *Directory) RemoveNAS(ctx context.Context, actor, name string) (found bool, err error) {
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		ns, err := tx.NASClients(ctx)
		if err != nil {
			return err
		}
		for _, n := range ns {
			if n.Name != name {
				continue
			}
			found = true
			if err := tx.DeleteNASClient(ctx, n.ID); err != nil {
				return err
			}
			return d.Record(ctx, tx, actor, audit.ActionNASRemove, audit.Target(audit.KindNAS, n.Name), map[string]any{"addresses": FormatPrefixes(n.Addresses)}, nil)
		}
		return nil
	})
	return found, err
}
