package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"keystage.dev/keystage/directory"
)

// Store is a directory.Store on SQL.
type Store struct {
	reader
	db        *sql.DB
	dialect   Dialect
	path      string   // SQLite only: the database file
	lock      *os.File // SQLite only: FILE.lock, shared among writers
	serveLock *os.File // SQLite, keystage serve only: FILE.serve.lock
	poll      *poller  // SQLite only: other processes' commits
	watch     watchers
	listen    *listener // PostgreSQL only: the change notifications
	jobs      jobLocks
	stmts     *stmtCache // SQLite only; nil on PostgreSQL
	migrated  []int64    // versions this Open applied
}

var _ directory.Store = (*Store)(nil)

// querier is what reader needs: a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader implements directory.Reader on any querier.
type reader struct {
	q querier
	d Dialect
}

// tx implements directory.Tx.
type tx struct {
	reader
	writes  int
	events  int
	targets map[string]bool // audit targets, told to watchers on commit
	seqs    []int64         // its audit events, which the SQLite poller need not tell again
}

// Close releases the job locks, the database and, for SQLite, the
// writers' lock.
func (s *Store) Close() error {
	if s.listen != nil {
		s.listen.close()
	}
	if s.poll != nil {
		s.poll.close()
	}
	s.releaseAllJobLocks()
	if s.stmts != nil {
		s.stmts.close()
	}
	err := s.db.Close()
	for _, l := range []**os.File{&s.serveLock, &s.lock} {
		if *l != nil {
			(*l).Close()
			*l = nil
		}
	}
	return err
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// auditLockKey serialises writers on PostgreSQL so that the audit chain
// stays linear across nodes ("KSAUDIT" in ASCII).
const auditLockKey = 0x4b5341554449

// Update runs fn in one transaction; see directory.Store.
func (s *Store) Update(ctx context.Context, fn func(ctx context.Context, tx directory.Tx) error) (err error) {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			sqlTx.Rollback()
		}
	}()
	if s.dialect == Postgres {
		if _, err := sqlTx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", auditLockKey); err != nil {
			return fmt.Errorf("begin: writer lock: %w", err)
		}
	}
	t := &tx{reader: reader{q: sqlTx, d: s.dialect}}
	if err := fn(ctx, t); err != nil {
		return err
	}
	if t.writes > 0 && t.events == 0 {
		return directory.ErrUnaudited
	}
	if err := t.notify(ctx, sqlTx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if s.poll != nil {
		s.poll.own(t.seqs)
	}
	s.watch.send(t.targetList())
	return nil
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.writes++
	return t.q.ExecContext(ctx, query, args...)
}

// insert runs an INSERT … RETURNING id.
func (t *tx) insert(ctx context.Context, query string, args ...any) (int64, error) {
	t.writes++
	var id int64
	err := t.q.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, mapErr(err)
}

// mapErr turns driver errors into the directory's sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return directory.ErrNotFound
	}
	if isUniqueViolation(err) {
		return fmt.Errorf("%w: %s", directory.ErrConflict, oneLine(err))
	}
	return err
}

// SQLite's extended result codes for a broken UNIQUE or PRIMARY KEY
// constraint, and PostgreSQL's SQLSTATE unique_violation.
const (
	sqliteConstraintPrimaryKey = sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	sqliteConstraintUnique     = sqlite3.SQLITE_CONSTRAINT_UNIQUE
	pgUniqueViolation          = "23505"
)

// isUniqueViolation reports whether either driver refused a row because
// its key is taken, by the drivers' error types rather than their text.
func isUniqueViolation(err error) bool {
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		return lite.Code() == sqliteConstraintUnique || lite.Code() == sqliteConstraintPrimaryKey
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == pgUniqueViolation
	}
	return false
}

// Times are microseconds since the epoch; the zero time is NULL.
func tm(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// Dates are YYYY-MM-DD text; the zero date is NULL.
func dt(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(directory.DateLayout)
}

func fromDate(s sql.NullString) time.Time {
	if !s.Valid || s.String == "" {
		return time.Time{}
	}
	t, err := time.Parse(directory.DateLayout, s.String)
	if err != nil {
		return time.Time{}
	}
	return t
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nextCounter takes the next value of a counter that never goes back.
func (t *tx) nextCounter(ctx context.Context, name string) (int64, error) {
	var v int64
	err := t.q.QueryRowContext(ctx, "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value", name).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("counter %s: %w", name, err)
	}
	return v, nil
}

// bumpCounter makes sure a counter is at least v, so that an id given by
// hand is never handed out again.
func (t *tx) bumpCounter(ctx context.Context, name string, v int64) error {
	_, err := t.q.ExecContext(ctx, "UPDATE counters SET value = $1 WHERE name = $2 AND value < $1", v, name)
	return err
}
