package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"filippo.io/age"

	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/private"
)

func cmdBackup(e *env, args []string) error {
	fs := e.newFlags("backup", "-o FILE [--recipient KEY]... [--recipients-file FILE]")
	out := fs.String("o", "", "write the backup to this new file")
	offsite := addOffsiteFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("-o FILE is needed")
	}
	recs, err := offsite.recipients()
	if err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if sqlstore.DialectOf(cfg.DatabaseURL()) != sqlstore.SQLite {
		return fmt.Errorf("%w. %s", sqlstore.ErrNotSQLite, keysApart(cfg))
	}
	path := *out
	if len(recs) > 0 {
		path = sealedName(path)
		err = backupSealed(e, cfg, path, recs)
	} else {
		// A backup only reads, so it runs beside the server without its lock.
		err = sqlstore.Backup(e.ctx, cfg.DatabaseURL(), path)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up to %s\n%s\n", path, keysApart(cfg))
	if len(recs) == 0 {
		fmt.Fprintf(e.stdout, "The backup is not encrypted: before it leaves this server, make it again with --recipient (an age or SSH public key whose private key is kept elsewhere).\n")
	}
	return nil
}

// backupSealed makes the backup in a private directory beside the store
// (never beside the output, which may be a share off the server), then
// encrypts it into path and removes the plain copy.
func backupSealed(e *env, cfg *Config, path string, recs []age.Recipient) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup %s: the file exists already; choose a new name", path)
	}
	if sqlstore.DialectOf(cfg.DatabaseURL()) != sqlstore.SQLite {
		return sqlstore.ErrNotSQLite
	}
	dir, err := os.MkdirTemp(filepath.Dir(sqlstore.SQLitePath(cfg.DatabaseURL())), ".backup-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(dir)
	plain := filepath.Join(dir, "keystage.db")
	if err := sqlstore.Backup(e.ctx, cfg.DatabaseURL(), plain); err != nil {
		return err
	}
	in, err := os.Open(plain)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer in.Close()
	return private.ReplaceFunc(path, func(w io.Writer) error {
		return sealTo(w, recs, func(w io.Writer) error { _, err := io.Copy(w, in); return err })
	})
}

func cmdRestore(e *env, args []string) error {
	fs := e.newFlags("restore", "FILE [--identity KEYFILE]")
	identity := fs.String("identity", "", "the private key `file` (age-keygen's, or an SSH key without a passphrase) that opens an encrypted backup (.age)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want the backup file to restore")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if sqlstore.DialectOf(cfg.DatabaseURL()) != sqlstore.SQLite {
		return sqlstore.ErrNotSQLite
	}
	dst := sqlstore.SQLitePath(cfg.DatabaseURL())
	src := pos[0]
	sealed, err := isSealed(src)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	switch {
	case sealed && *identity == "":
		return usagef("%s is encrypted: give --identity FILE, the private key of one of the public keys it was made for", src)
	case !sealed && *identity != "":
		return usagef("%s is not encrypted: leave out --identity", src)
	case sealed:
		dir, err := os.MkdirTemp(filepath.Dir(dst), ".restore-*")
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer os.RemoveAll(dir)
		plain := filepath.Join(dir, "keystage.db")
		if err := openSealed(src, *identity, plain); err != nil {
			return err
		}
		src = plain
	}
	if err := sqlstore.Restore(e.ctx, src, dst); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s from %s\n", dst, pos[0])
	return nil
}

// openSealed decrypts the age file src with the identities in idFile into
// a new file plain (0600).
func openSealed(src, idFile, plain string) error {
	ids, err := readIdentities(idFile)
	if err != nil {
		return usagef("--identity %s: %v", idFile, err)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer in.Close()
	r, err := age.Decrypt(in, ids...)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return fmt.Errorf("restore: %s was not encrypted to the key in %s: give the private key of one of its recipients", src, idFile)
	}
	if err != nil {
		return fmt.Errorf("restore: decrypting %s: %w", src, err)
	}
	out, err := os.OpenFile(plain, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return fmt.Errorf("restore: decrypting %s (damaged or cut short?): %w", src, err)
	}
	return out.Close()
}
