// Package sqlstore keeps the directory in SQL: SQLite (modernc.org/sqlite,
// no cgo) as the embedded default, PostgreSQL (pgx) for trusts and councils
// running several nodes. Both share one set of queries, written in the SQL
// both accept; only the migrations differ by dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers "sqlite"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/migrations"

	"keystage.dev/keystage/private"
)

// Config says which database to open.
type Config struct {
	// URL is "postgres://…" (or "postgresql://…") for PostgreSQL, or
	// "sqlite:PATH" / a plain file path for SQLite.
	URL string
	// ReadOnly opens a SQLite store for reading only, without taking the
	// writer's lock, so that a command can read while a server runs.
	ReadOnly bool
	// NoMigrate refuses to open a store whose schema is behind instead of
	// migrating it.
	NoMigrate bool
	// StatusOnly opens without migrating or checking the schema, for
	// reporting migration status; nothing else may use such a store.
	StatusOnly bool
	// Serve opens the store for keystage serve: on SQLite it also takes
	// the server's own lock, so that a second server on the same file is
	// refused (commands still open it beside the server).
	Serve bool
	// MaxConns caps the connection pool (0: a default for the dialect).
	MaxConns int
	// Log hears what the store does on its own, out of any call: on
	// PostgreSQL, losing and regaining the change notifications. Nil:
	// nowhere.
	Log *slog.Logger
}

// Dialect names a SQL dialect.
type Dialect string

// The dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DialectOf tells the dialect of a database URL.
func DialectOf(u string) Dialect {
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// SQLitePath is the file a SQLite URL names.
func SQLitePath(u string) string {
	p := strings.TrimPrefix(u, "sqlite://")
	p = strings.TrimPrefix(p, "sqlite:")
	p = strings.TrimPrefix(p, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// Open opens (and unless told otherwise migrates) the store a URL names.
// Every failure names its cause in one line and writes nothing.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	d := DialectOf(cfg.URL)
	var (
		db    *sql.DB
		locks sqliteLocks
		err   error
	)
	switch d {
	case Postgres:
		db, err = sql.Open("pgx", cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		n := cfg.MaxConns
		if n <= 0 {
			n = 16
		}
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
	default:
		db, locks, err = openSQLite(SQLitePath(cfg.URL), cfg)
		if err != nil {
			return nil, err
		}
	}
	s := &Store{db: db, dialect: d, lock: locks.shared, serveLock: locks.serve}
	if d != Postgres {
		s.path = SQLitePath(cfg.URL)
		s.poll = newPoller(s, cfg.Log)
	}
	s.reader = reader{q: db, d: d}
	if d == Postgres {
		s.listen = newListener(s, cfg.Log)
	}
	if d != Postgres {
		s.stmts = newStmtCache(db)
		s.reader.q = s.stmts
	}
	if err := db.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s database: %s", d, oneLine(err))
	}
	if cfg.StatusOnly {
		return s, nil
	}
	if err := s.migrate(ctx, cfg); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// sqliteLocks are the lock files a SQLite store holds while open: see
// openSQLite.
type sqliteLocks struct {
	shared *os.File // FILE.lock, shared by every writer; exclusive for a migration or a restore
	serve  *os.File // FILE.serve.lock, exclusive: one keystage serve per file
}

func (l sqliteLocks) close() {
	for _, f := range []*os.File{l.serve, l.shared} {
		if f != nil {
			f.Close()
		}
	}
}

// lockMessage says why the writer's lock was refused.
const lockMessage = "a keystage process that needs it to itself (keystage migrate up, keystage restore, " +
	"or a keystage older than this one, which lets no command beside its server) has it open; wait for it to finish, or stop it, and try again"

func openSQLite(path string, cfg Config) (*sql.DB, sqliteLocks, error) {
	var locks sqliteLocks
	if path == "" || path == ":memory:" {
		return nil, locks, errors.New("open sqlite: a file path is needed (the store must outlive the process)")
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return nil, locks, fmt.Errorf("open sqlite: data directory %s: %w", dir, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, locks, fmt.Errorf("open sqlite: data directory %s is not a directory", dir)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if cfg.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, locks, fmt.Errorf("open sqlite: %s: %w (run keystage migrate up, or keystage demo, first)", path, errors.Unwrap(err))
		}
		q.Add("_pragma", "query_only(1)")
	} else {
		// Several processes write one file: keystage serve and the
		// commands run beside it (a cron job's suspend, sync --apply).
		// SQLite serialises them (every transaction begins IMMEDIATE,
		// waiting up to the busy timeout for the one before), so the audit
		// chain stays linear; each server hears the others' commits by
		// polling (see poller). FILE.lock is shared among them, and taken
		// exclusively by what cannot run beside anything: a migration
		// (migrate) and a restore.
		locks.shared, err = os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, locks, fmt.Errorf("open sqlite: lock file: %w", errors.Unwrap(err))
		}
		if err := syscall.Flock(int(locks.shared.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
			locks.close()
			return nil, sqliteLocks{}, fmt.Errorf("open sqlite %s: %w: %s", path, directory.ErrLocked, lockMessage)
		}
		if cfg.Serve {
			// One server per file: two would answer on the same ports
			// and run the same scheduled jobs.
			locks.serve, err = os.OpenFile(path+".serve.lock", os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				locks.close()
				return nil, sqliteLocks{}, fmt.Errorf("open sqlite: lock file: %w", errors.Unwrap(err))
			}
			if err := syscall.Flock(int(locks.serve.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
				locks.close()
				return nil, sqliteLocks{}, fmt.Errorf("open sqlite %s: %w: another keystage process serves it (keystage serve); stop it first", path, directory.ErrLocked)
			}
		}
		// SQLite makes a new database, and its -wal and -shm files (which
		// take the database's mode), 0644 less the umask: made here first,
		// 0600, and any wider mode an old file has is taken away.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			err = private.CreateNew(path)
			if err != nil && !errors.Is(err, fs.ErrExist) {
				locks.close()
				return nil, sqliteLocks{}, fmt.Errorf("open sqlite: %w", err)
			}
		}
		for _, f := range []string{path, path + "-wal", path + "-shm", path + ".lock", path + ".serve.lock"} {
			if err := private.Tighten(f); err != nil {
				locks.close()
				return nil, sqliteLocks{}, fmt.Errorf("open sqlite: %w", err)
			}
		}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// Writers take the lock when they begin, so that two transactions
		// (of this process or another) never deadlock upgrading from read
		// to write, and each reads the audit chain's head only once the
		// writer before it has committed.
		q.Add("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		locks.close()
		return nil, sqliteLocks{}, fmt.Errorf("open sqlite: %w", err)
	}
	n := cfg.MaxConns
	if n <= 0 {
		n = 8
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return db, locks, nil
}

// oneLine keeps the first line of a driver's error.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func (s *Store) provider(opts ...goose.ProviderOption) (*goose.Provider, error) {
	fsys, err := migrations.For(string(s.dialect))
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	return goose.NewProvider(dialect, s.db, fsys, opts...)
}

func (s *Store) lockedProvider() (*goose.Provider, error) {
	l, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	return s.provider(goose.WithSessionLocker(l))
}

func (s *Store) migrate(ctx context.Context, cfg Config) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if s.dialect == Postgres {
		// Several nodes may start at once: goose's session lock makes one
		// migrate while the others wait.
		if p, err = s.lockedProvider(); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
	}
	cur, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("migrations: reading schema version: %s", oneLine(err))
	}
	if cur > target {
		return fmt.Errorf("database at schema version %d, this keystage knows up to %d: %w; upgrade keystage", cur, target, directory.ErrSchemaAhead)
	}
	if cur == target {
		return nil
	}
	if cfg.ReadOnly || cfg.NoMigrate {
		return fmt.Errorf("database at schema version %d, this keystage needs %d: run keystage migrate up", cur, target)
	}
	if s.lock != nil {
		// A process beside this one knows only the older schema: it must
		// be stopped for the migration.
		if err := syscall.Flock(int(s.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			return fmt.Errorf("database at schema version %d, this keystage needs %d: %w: another keystage process (keystage serve, or a command) "+
				"has it open and knows only the older schema; stop it, run keystage migrate up, then start it again", cur, target, directory.ErrLocked)
		}
		defer syscall.Flock(int(s.lock.Fd()), syscall.LOCK_SH)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %s", oneLine(err))
	}
	for _, r := range res {
		s.migrated = append(s.migrated, r.Source.Version)
	}
	return nil
}

// Migrated lists the migrations this Open applied, oldest first.
func (s *Store) Migrated() []int64 { return s.migrated }

// GIDChange is one gidNumber that migration 00110 (user private groups)
// moved: a group's, out of the people's range, or a person's primary gid
// that was not their own.
type GIDChange struct {
	Kind   string // group or account
	Name   string
	OldGID int64
	NewGID int64
}

// GIDChanges reads what migration 00110 moved, groups first, for
// `keystage migrate gids`: files owned by an old gid are put right with
// chgrp.
func (s *Store) GIDChanges(ctx context.Context) ([]GIDChange, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT kind, name, old_gid, new_gid FROM gid_changes ORDER BY kind DESC, old_gid, name")
	if err != nil {
		return nil, fmt.Errorf("gid changes: %w", err)
	}
	defer rows.Close()
	var out []GIDChange
	for rows.Next() {
		var c GIDChange
		if err := rows.Scan(&c.Kind, &c.Name, &c.OldGID, &c.NewGID); err != nil {
			return nil, fmt.Errorf("gid changes: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Source  string
	Applied bool
}

// Migrations reports the state of every known migration.
func (s *Store) Migrations(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, len(st))
	for i, m := range st {
		out[i] = MigrationStatus{Version: m.Source.Version, Source: m.Source.Path, Applied: m.State == goose.StateApplied}
	}
	return out, nil
}

// Dialect is the store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the database for benchmarks and tests that must reach under
// the Store (to tamper with the audit trail, say).
func (s *Store) DB() *sql.DB { return s.db }

// SchemaVersions are the schema version of the database and the newest
// this binary knows, without changing anything: cur < target means
// migrations are pending, cur > target that a newer Keystage migrated it.
func (s *Store) SchemaVersions(ctx context.Context) (cur, target int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, fmt.Errorf("migrations: %w", err)
	}
	cur, target, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migrations: reading schema version: %s", oneLine(err))
	}
	return cur, target, nil
}
