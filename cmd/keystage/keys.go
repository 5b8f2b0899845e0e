package main

import (
	"fmt"

	"keystage.dev/keystage/private"
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
	if err := private.Replace(cfg.KeyFile(), ring.KeyFile()); err != nil {
		return err
	}
	d := e.directoryWith(s, ring)
	n, err := d.Reseal(e.ctx, e.actor())
	if err != nil {
		return fmt.Errorf("re-sealing under key %s (the key file already holds it; run again to finish): %w", ring.CurrentID(), err)
	}
	fmt.Fprintf(e.stdout, "new key %s; %d secret(s) re-sealed; keys in %s: %v\n", ring.CurrentID(), n, cfg.KeyFile(), ring.IDs())
	return nil
}
