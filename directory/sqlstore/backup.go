package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"keystage.dev/keystage/directory"

	"keystage.dev/keystage/private"
)

// ErrNotSQLite is returned by the SQLite-only operations on PostgreSQL,
// which has its own tools (pg_dump, pg_basebackup).
var ErrNotSQLite = errors.New("only for the SQLite store: on PostgreSQL use pg_dump or pg_basebackup (see deploy/postgresql.md)")

// Backup writes a consistent copy of the SQLite store at u to path while a
// server keeps using it: VACUUM INTO reads one snapshot, so writers carry
// on and the copy is whole. It only reads the store, so it needs neither
// the writer's lock nor a migrated schema. path must not exist.
func Backup(ctx context.Context, u, path string) error {
	if DialectOf(u) != SQLite {
		return ErrNotSQLite
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup %s: the file exists already; choose a new name", path)
	}
	src := SQLitePath(u)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: %s: %w", src, errors.Unwrap(err))
	}
	db, err := OpenRaw(ctx, u)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "PRAGMA busy_timeout = 10000"); err != nil {
		return err
	}
	// VACUUM INTO fills an empty file and keeps its mode: made here, 0600,
	// the copy of every hash and name is never readable by others, even
	// for a moment and whatever the umask.
	if err := private.CreateNew(path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO $1", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup to %s: %s", path, oneLine(err))
	}
	return private.Tighten(path)
}

// Restore replaces the SQLite store at dst with the backup at src. It takes
// the writer's lock, so it refuses while a server runs; it checks that src
// is a whole Keystage store this binary can read before touching dst, and
// swaps the file in with a rename so that a crash leaves the old store or
// the new one.
func Restore(ctx context.Context, src, dst string) error {
	lock, err := os.OpenFile(dst+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("restore: lock file: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("restore to %s: %w: stop keystage first", dst, directory.ErrLocked)
	}
	if err := checkBackup(ctx, src); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".restore-*.db")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	in, err := os.Open(src)
	if err != nil {
		tmp.Close()
		return fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(tmp, in)
	in.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: copying %s: %w", src, err)
	}
	// The old store's write-ahead log belongs to the old file: it must not
	// be replayed onto the restored one.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dst + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// checkBackup opens a backup read-only and checks its integrity and schema.
func checkBackup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backup %s: %w", path, errors.Unwrap(err))
	}
	s, err := Open(ctx, Config{URL: path, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("backup %s is not a Keystage store this version can use: %w", path, err)
	}
	defer s.Close()
	var result string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("backup %s: %s", path, oneLine(err))
	}
	if result != "ok" {
		return fmt.Errorf("backup %s is damaged: %s", path, result)
	}
	return nil
}
