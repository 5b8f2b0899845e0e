package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

func cmdKeys(e *env, args []string) error {
	if len(args) != 1 || args[0] != "rotate" {
		return usagef("want: keys rotate")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	s, err := e.openStore(false)
	if err != nil {
		return err
	}
	defer s.Close()
	old, err := e.keyring(s, false)
	if err != nil {
		return err
	}
	ring, err := old.WithNewKey()
	if err != nil {
		return err
	}
	// The new key file keeps the old keys, so that everything still opens
	// whether or not the re-sealing below commits; then every sealed value
	// moves to the new key in one transaction.
	if err := writeFileAtomic(cfg.KeyFile(), ring.KeyFile(), 0o600); err != nil {
		return err
	}
	d := e.directory(s)
	d.Sealer = ring
	n, err := resealAll(e.ctx, d, e.actor(), ring)
	if err != nil {
		return fmt.Errorf("re-sealing under key %s (the key file already holds it; run again to finish): %w", ring.CurrentID(), err)
	}
	fmt.Fprintf(e.stdout, "new key %s; %d secret(s) re-sealed; keys in %s: %v\n", ring.CurrentID(), n, cfg.KeyFile(), ring.IDs())
	return nil
}

// resealAll moves every sealed Wi-Fi credential and NAS secret to the
// current key, in one transaction with its audit event.
func resealAll(ctx context.Context, d *directory.Directory, actor string, ring *passwords.Keyring) (int, error) {
	n := 0
	err := d.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
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
		q := directory.AccountQuery{Limit: 1000}
		for {
			page, err := tx.ListAccounts(ctx, q)
			if err != nil {
				return err
			}
			for _, a := range page {
				creds, err := tx.Credentials(ctx, a.ID, directory.CredWiFi)
				if err != nil {
					return err
				}
				for _, c := range creds {
					sealed, changed, err := reseal(c.Secret, directory.SealWiFi)
					if err != nil {
						return fmt.Errorf("Wi-Fi credential %d of %s: %w", c.ID, a.Username, err)
					}
					if !changed {
						continue
					}
					if _, err := tx.UpdateCredential(ctx, c.ID, func(c *directory.Credential) error {
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
			sealed, changed, err := reseal(c.Secret, directory.SealNAS)
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

// writeFileAtomic replaces path with data so that a crash leaves the old
// file or the new one, never half of either.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	return writeFileAtomicFunc(path, mode, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeFileAtomicFunc writes a file through write into a temporary file
// beside path and renames it over path once it is whole and synced, so a
// reader never sees half of it.
func writeFileAtomicFunc(path string, mode os.FileMode, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keystage-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
