package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	d := e.directoryWith(s, ring)
	n, err := d.Reseal(e.ctx, e.actor())
	if err != nil {
		return fmt.Errorf("re-sealing under key %s (the key file already holds it; run again to finish): %w", ring.CurrentID(), err)
	}
	fmt.Fprintf(e.stdout, "new key %s; %d secret(s) re-sealed; keys in %s: %v\n", ring.CurrentID(), n, cfg.KeyFile(), ring.IDs())
	return nil
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
