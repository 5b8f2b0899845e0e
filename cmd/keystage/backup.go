package main

import (
	"fmt"

	"keystage.dev/keystage/directory/sqlstore"
)

func cmdBackup(e *env, args []string) error {
	fs := e.newFlags("backup", "-o FILE")
	out := fs.String("o", "", "write the backup to this new file")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("-o FILE is needed")
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if sqlstore.DialectOf(cfg.DatabaseURL()) != sqlstore.SQLite {
		return fmt.Errorf("%w. %s", sqlstore.ErrNotSQLite, keysApart(cfg))
	}
	// A backup only reads, so it runs beside the server without its lock.
	if err := sqlstore.Backup(e.ctx, cfg.DatabaseURL(), *out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up to %s\n%s\n", *out, keysApart(cfg))
	return nil
}

func cmdRestore(e *env, args []string) error {
	fs := e.newFlags("restore", "FILE")
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
	if err := sqlstore.Restore(e.ctx, pos[0], dst); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s from %s\n", dst, pos[0])
	return nil
}
