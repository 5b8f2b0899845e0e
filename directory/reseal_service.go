package directory

import (
	"context"
	"fmt"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/passwords"
)

// Reseal moves every sealed Wi-Fi credential and NAS secret to the
// sealer's current key, in one transaction with its audit event, and
// returns how many moved. The sealer must still open the old keys (keys
// rotate: the new key file keeps them).
func (d *Directory) Reseal(ctx context.Context, actor string) (int, error) {
	ring := d.sealer
	n := 0
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		n = 0
		reseal := func(sealed, aad string) (string, bool, error) {
			id, err := passwords.SealedKeyID(sealed)
			if err != nil {
				return "", false, err
			}
			if id == ring.CurrentID() {
				return sealed, false, nil
			}
			plain, err := ring.Open(sealed, []byte(aad))
			if err != nil {
				return "", false, err
			}
			out, err := ring.Seal(plain, []byte(aad))
			return out, true, err
		}
		q := AccountQuery{Limit: 1000}
		for {
			page, err := tx.ListAccounts(ctx, q)
			if err != nil {
				return err
			}
			for _, a := range page {
				creds, err := tx.Credentials(ctx, a.ID, CredWiFi)
				if err != nil {
					return err
				}
				for _, c := range creds {
					sealed, changed, err := reseal(c.Secret, SealWiFi)
					if err != nil {
						return fmt.Errorf("Wi-Fi credential %d of %s: %w", c.ID, a.Username, err)
					}
					if !changed {
						continue
					}
					if _, err := tx.UpdateCredential(ctx, c.ID, func(c *Credential) error {
						c.Secret, c.KeyID = sealed, ring.CurrentID()
						return nil
					}); err != nil {
						return err
					}
					n++
				}
			}
			if len(page) < q.Limit {
				break
			}
			q.AfterID = page[len(page)-1].ID
		}
		nas, err := tx.NASClients(ctx)
		if err != nil {
			return err
		}
		for _, c := range nas {
			sealed, changed, err := reseal(c.Secret, SealNAS)
			if err != nil {
				return fmt.Errorf("NAS client %s: %w", c.Name, err)
			}
			if !changed {
				continue
			}
			c.Secret, c.KeyID = sealed, ring.CurrentID()
			if err := tx.PutNASClient(ctx, &c); err != nil {
				return err
			}
			n++
		}
		return d.Record(ctx, tx, actor, audit.ActionKeysRotate, "keyring", nil, map[string]any{"key_id": ring.CurrentID(), "resealed": n})
	})
	return n, err
}
