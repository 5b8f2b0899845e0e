package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"keystage.dev/keystage/directory"
)

var _ directory.Watcher = (*Store)(nil)

// notifyChannel is the PostgreSQL channel that carries committed targets
// between nodes.
const notifyChannel = "keystage_changes"

// watchers are the in-process subscribers of a store.
type watchers struct {
	mu  sync.Mutex
	fns map[int]func([]string)
	n   int
}

func (w *watchers) add(fn func([]string)) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[int]func([]string){}
	}
	w.n++
	w.fns[w.n] = fn
	return w.n
}

func (w *watchers) remove(id int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.fns, id)
}

func (w *watchers) send(targets []string) {
	if len(targets) == 0 {
		return
	}
	w.mu.Lock()
	fns := make([]func([]string), 0, len(w.fns))
	for _, fn := range w.fns {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(targets)
	}
}

// Watch tells fn of the targets of every committed change. On SQLite (one
// process) that is in-process, right after commit; on PostgreSQL each
// transaction also NOTIFYs, and a listener connection per Watch hears the
// other nodes' changes (and its own, which is harmless: forgetting twice
// costs nothing).
func (s *Store) Watch(ctx context.Context, fn func(targets []string)) error {
	if s.dialect != Postgres {
		id := s.watch.add(fn)
		context.AfterFunc(ctx, func() { s.watch.remove(id) })
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		defer conn.Close()
		err := conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			if _, err := pc.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
				ready <- err
				return err
			}
			ready <- nil
			for {
				n, err := pc.WaitForNotification(ctx)
				if err != nil {
					return err
				}
				fn(strings.Split(n.Payload, "\n"))
			}
		})
		if err != nil && ctx.Err() == nil {
			// The connection broke: everything may have changed meanwhile,
			// so say so, and listen again.
			fn([]string{directory.AllTargets})
			time.Sleep(time.Second)
			if ctx.Err() == nil {
				_ = s.Watch(ctx, fn)
			}
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("watch: LISTEN: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// notify sends a transaction's targets to the other nodes; it runs inside
// the transaction, so PostgreSQL delivers it on commit and drops it on
// rollback.
func (t *tx) notify(ctx context.Context, q *sql.Tx) error {
	if t.d != Postgres || len(t.targets) == 0 {
		return nil
	}
	// A payload is at most 8000 bytes: long lists go in pieces.
	var chunk []string
	size := 0
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		_, err := q.ExecContext(ctx, "SELECT pg_notify($1, $2)", notifyChannel, strings.Join(chunk, "\n"))
		chunk, size = chunk[:0], 0
		return err
	}
	for _, target := range t.targetList() {
		if size+len(target)+1 > 7900 {
			if err := flush(); err != nil {
				return err
			}
		}
		chunk = append(chunk, target)
		size += len(target) + 1
	}
	if err := flush(); err != nil {
		return errors.Join(errors.New("notify"), err)
	}
	return nil
}

func (t *tx) targetList() []string {
	out := make([]string, 0, len(t.targets))
	for target := range t.targets {
		out = append(out, target)
	}
	return out
}
