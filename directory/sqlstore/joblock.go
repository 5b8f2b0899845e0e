package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"syscall"

	"keystage.dev/keystage/directory"
)

var _ directory.JobLocker = (*Store)(nil)

// jobLocks are the job locks this store holds. On PostgreSQL each holds a
// connection of its own, taken out of the pool for the lock's life: a
// session advisory lock belongs to the connection that took it, and a
// pooled connection handed back would carry the lock to whatever query
// used it next (and could take it again, since advisory locks are
// re-entrant within a session). On SQLite, where commands write beside
// keystage serve, each is an exclusive flock of a file beside the
// database (FILE.job-NAME.lock), which the kernel drops with the process.
type jobLocks struct {
	mu    sync.Mutex
	held  map[string]*sql.Conn // nil conn on SQLite
	files map[string]*os.File  // SQLite only
}

// TryJobLock takes the lock named name unless some node holds it; see
// directory.JobLocker. On PostgreSQL the lock is pg_try_advisory_lock on
// a key hashed from the schema and the name, so that two directories kept
// in two schemas of one database do not block each other's jobs. If the
// connection to PostgreSQL breaks, the server drops the lock with it: a
// job should be safe to run again (every job here is: it plans from the
// directory as it finds it).
func (s *Store) TryJobLock(ctx context.Context, name string) (release func(), ok bool, err error) {
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	if s.jobs.held == nil {
		s.jobs.held = map[string]*sql.Conn{}
	}
	if _, mine := s.jobs.held[name]; mine {
		return nil, false, nil
	}
	var conn *sql.Conn
	if s.dialect != Postgres && s.path != "" {
		f, err := os.OpenFile(s.path+".job-"+url.PathEscape(name)+".lock", os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("job lock %s: %w", name, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("job lock %s: %w", name, err)
		}
		if s.jobs.files == nil {
			s.jobs.files = map[string]*os.File{}
		}
		s.jobs.files[name] = f
	}
	if s.dialect == Postgres {
		conn, err = s.db.Conn(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("job lock %s: %w", name, err)
		}
		var got bool
		err = conn.QueryRowContext(ctx,
			"SELECT pg_try_advisory_lock(hashtextextended(current_schema() || '/' || $1, 0))", name).Scan(&got)
		if err != nil || !got {
			conn.Close()
			if err != nil {
				return nil, false, fmt.Errorf("job lock %s: %w", name, err)
			}
			return nil, false, nil
		}
	}
	s.jobs.held[name] = conn
	var once sync.Once
	return func() { once.Do(func() { s.releaseJobLock(name) }) }, true, nil
}

// releaseJobLock gives a lock back. The unlock runs on a fresh context:
// the job's own may have ended, and the lock must go regardless.
func (s *Store) releaseJobLock(name string) {
	s.jobs.mu.Lock()
	conn, ok := s.jobs.held[name]
	delete(s.jobs.held, name)
	if f := s.jobs.files[name]; f != nil {
		f.Close() // drops the flock
		delete(s.jobs.files, name)
	}
	s.jobs.mu.Unlock()
	if !ok || conn == nil {
		return
	}
	unlockConn(conn, name)
}

func unlockConn(conn *sql.Conn, name string) {
	var released bool
	err := conn.QueryRowContext(context.Background(),
		"SELECT pg_advisory_unlock(hashtextextended(current_schema() || '/' || $1, 0))", name).Scan(&released)
	if err != nil || !released {
		// The session may still hold it: close the connection rather than
		// hand a locked session back to the pool.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}

// releaseAllJobLocks runs on Close: connections taken out of the pool are
// not closed by sql.DB.Close, so a closed store would otherwise keep its
// locks until the process ended.
func (s *Store) releaseAllJobLocks() {
	s.jobs.mu.Lock()
	held := s.jobs.held
	s.jobs.held = nil
	for _, f := range s.jobs.files {
		f.Close()
	}
	s.jobs.files = nil
	s.jobs.mu.Unlock()
	for name, conn := range held {
		if conn != nil {
			unlockConn(conn, name)
		}
	}
}
