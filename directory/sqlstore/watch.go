package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// Watch tells fn of the targets of every committed change. On SQLite this
// process's commits are told right after commit, and every process's
// (keystage serve's and the commands' run beside it) within
// SQLitePollInterval by the poller, which reads them from the audit trail
// (and skips this store's own, told already). On PostgreSQL each
// transaction also NOTIFYs, and one listening connection per store hears
// every node's changes (its own too, which is harmless: forgetting twice
// costs nothing) and hands them to every Watch. Watch returns after the
// listener's first attempt: if the database could not be reached, the
// listener keeps trying, and tells fn AllTargets once it listens.
func (s *Store) Watch(ctx context.Context, fn func(targets []string)) error {
	if s.dialect != Postgres {
		if err := s.poll.start(ctx); err != nil {
			return err
		}
		id := s.watch.add(fn)
		context.AfterFunc(ctx, func() { s.watch.remove(id) })
		return nil
	}
	l := s.listen
	l.start()
	select {
	case <-l.tried:
	case <-ctx.Done():
		return ctx.Err()
	}
	id := l.subs.add(fn)
	context.AfterFunc(ctx, func() { l.subs.remove(id) })
	return nil
}

// ListenerStats is how the PostgreSQL listener fares, for the metrics.
type ListenerStats struct {
	Up   bool  // listening now
	Lost int64 // times the listening connection broke since the store opened
}

// Listener tells how the listener fares; ok is false on SQLite, which has
// none, and until something watches.
func (s *Store) Listener() (st ListenerStats, ok bool) {
	if s.listen == nil || !s.listen.started.Load() {
		return ListenerStats{}, false
	}
	return ListenerStats{Up: s.listen.up.Load(), Lost: s.listen.lost.Load()}, true
}

// The listener's back-off between attempts while PostgreSQL cannot be
// reached: it starts short, for a blip, and never grows past a second, so
// that the listener is back within about a second of the database
// (deploy/postgresql.md promises it).
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = time.Second
	// listenConnectTimeout bounds one attempt to connect and LISTEN; a
	// database that does not answer at all is tried again.
	listenConnectTimeout = 10 * time.Second
)

// listener is a store's one LISTENing connection on PostgreSQL. It runs
// from the first Watch until the store closes and, whenever its connection
// breaks, connects again for as long as it takes. While it is away it
// hears nothing, so once back it tells every watcher AllTargets: each
// re-reads what it holds (RADIUS the audit trail, LDAP its bound
// connections) and so catches up on what changed meanwhile.
type listener struct {
	s    *Store
	log  *slog.Logger
	subs watchers

	once  sync.Once
	stop  context.CancelFunc
	done  chan struct{} // closed when run returns
	tried chan struct{} // closed after the first attempt

	mu sync.Mutex // over stop

	started atomic.Bool
	up      atomic.Bool
	lost    atomic.Int64
	// caught is when the last heartbeat heard back was sent (UnixNano):
	// PostgreSQL delivers notifications in commit order, so every change
	// committed before it has been told.
	caught atomic.Int64
	nonce  string // tells this store's heartbeats from other nodes'
}

func newListener(s *Store, log *slog.Logger) *listener {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	nonce := make([]byte, 8)
	rand.Read(nonce)
	return &listener{s: s, log: log, done: make(chan struct{}), tried: make(chan struct{}), nonce: hex.EncodeToString(nonce)}
}

// start runs the listener once, on the store's lifetime.
func (l *listener) start() {
	l.once.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		l.mu.Lock()
		l.stop = cancel
		l.mu.Unlock()
		l.started.Store(true)
		go l.run(ctx)
	})
}

// close stops the listener and waits for its connection to be given back,
// so that the database can close.
func (l *listener) close() {
	l.mu.Lock()
	stop := l.stop
	l.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	<-l.done
}

func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	first := true
	backoff := listenBackoffMin
	var lostAt time.Time
	for ctx.Err() == nil {
		err := l.listen(ctx, func() {
			l.up.Store(true)
			backoff = listenBackoffMin
			if first {
				first = false
				close(l.tried)
				return
			}
			if !lostAt.IsZero() {
				l.log.Info("database change notifications heard again; re-reading what changed meanwhile", "away", time.Since(lostAt).Round(time.Millisecond))
				lostAt = time.Time{}
				l.subs.send([]string{directory.AllTargets})
			}
		})
		if ctx.Err() != nil {
			return
		}
		switch {
		case first:
			// Never listened: whoever watches hears AllTargets once
			// it does.
			first = false
			lostAt = time.Now()
			close(l.tried)
			l.log.Warn("database change notifications unavailable; trying until the database answers (other nodes' changes reach this node late meanwhile)", "err", oneLine(err))
		case l.up.Swap(false):
			l.lost.Add(1)
			lostAt = time.Now()
			l.log.Warn("database change notifications lost; reconnecting until the database answers (other nodes' changes reach this node late meanwhile)", "err", oneLine(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listen connects, LISTENs, calls ready, and hands notifications to the
// watchers until the connection breaks or ctx ends.
func (l *listener) listen(ctx context.Context, ready func()) error {
	cctx, cancel := context.WithTimeout(ctx, listenConnectTimeout)
	conn, err := l.s.db.Conn(cctx)
	if err != nil {
		cancel()
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		_, err := pc.Exec(cctx, "LISTEN "+notifyChannel)
		cancel()
		if err != nil {
			return errors.Join(err, driver.ErrBadConn)
		}
		ready()
		hctx, stop := context.WithCancel(ctx)
		defer stop()
		go l.heartbeat(hctx)
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// The connection may be broken or mid-message: never hand
				// it back to the pool.
				return errors.Join(err, driver.ErrBadConn)
			}
			if beat, ok := strings.CutPrefix(n.Payload, heartbeatPrefix); ok {
				if sent, ok := strings.CutPrefix(beat, l.nonce+" "); ok {
					if ns, err := strconv.ParseInt(sent, 10, 64); err == nil {
						l.caught.Store(ns)
					}
				}
				continue
			}
			l.subs.send(strings.Split(n.Payload, "\n"))
		}
	})
}

// heartbeatPrefix begins a heartbeat's payload; no audit target begins so.
const heartbeatPrefix = "\x01heartbeat "

// HeartbeatEvery is how often a listening node sends itself a heartbeat
// through the database, to know how far it has heard (Store.CaughtUp).
const HeartbeatEvery = 500 * time.Millisecond

// heartbeat notifies the channel every HeartbeatEvery with the time it was
// sent, until ctx ends; the listener, hearing it back, knows that every
// change committed before then has reached it.
func (l *listener) heartbeat(ctx context.Context) {
	tick := time.NewTicker(HeartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sent := time.Now().UnixNano()
		cctx, cancel := context.WithTimeout(ctx, HeartbeatEvery)
		l.s.db.ExecContext(cctx, "SELECT pg_notify($1, $2)", notifyChannel, heartbeatPrefix+l.nonce+" "+strconv.FormatInt(sent, 10))
		cancel()
	}
}

// CaughtUp is when the store last knew itself caught up: every change
// committed before it, on any node or process, has been handed to every
// Watch (zero while nothing watches, or before the first time). On SQLite
// it is when the last poll that read the trail began (every
// SQLitePollInterval); on PostgreSQL when the last heartbeat this node
// heard back was sent (every HeartbeatEvery). It stops advancing while the
// listener or the poll fails, which is how an in-memory view knows to stop
// trusting itself.
func (s *Store) CaughtUp() time.Time {
	var ns int64
	switch {
	case s.dialect == Postgres && s.listen != nil:
		ns = s.listen.caught.Load()
	case s.poll != nil:
		ns = s.poll.caught.Load()
	}
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
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

// SQLitePollInterval is how often a watched SQLite store looks for commits
// made by other processes (PRAGMA data_version, which costs no read of the
// file). With RADIUS's and LDAP's own work after it, a change made by a
// command beside keystage serve is acted on well within the 3 s bound
// stated for several nodes.
const SQLitePollInterval = 250 * time.Millisecond

// pollPage is how many audit events the poller reads at a time.
const pollPage = 1000

// poller hears the commits of other processes on a SQLite store. SQLite
// has no notifications across processes, but every change is committed
// with its audit events, whose targets are what Watch tells: so from the
// first Watch until the store closes, the poller asks a connection of its
// own for PRAGMA data_version every SQLitePollInterval (it changes when
// any other connection, of this process or another, commits) and, when it
// has changed, reads the audit events after the last one it saw and tells
// their targets to every watcher. If it cannot read for a while, it tells
// AllTargets once it can again.
type poller struct {
	s   *Store
	log *slog.Logger

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}
	mine    map[int64]bool // this store's events, told at commit, not yet passed by the poller
	// caught is when the last poll that read everything began (UnixNano):
	// every commit before it has been told.
	caught atomic.Int64
}

// own notes the audit events a transaction of this store committed: they
// were told at commit, and the poller passes them by. Before the poller
// starts nothing is noted (it starts after them), so the set holds only
// events it has yet to read.
func (p *poller) own(seqs []int64) {
	if len(seqs) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return
	}
	for _, seq := range seqs {
		p.mine[seq] = true
	}
}

// told reports whether seq is this store's own event, forgetting it.
func (p *poller) told(seq int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mine[seq] {
		delete(p.mine, seq)
		return true
	}
	return false
}

func newPoller(s *Store, log *slog.Logger) *poller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &poller{s: s, log: log, done: make(chan struct{}), mine: map[int64]bool{}}
}

// start runs the poller once, on the store's lifetime. It reads the head
// of the trail first, so that every commit after Watch returns is told.
func (p *poller) start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return nil
	}
	seq, _, err := p.s.reader.AuditHead(ctx)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(context.Background())
	p.started, p.stop = true, cancel
	go p.run(rctx, seq)
	return nil
}

// close stops the poller and waits for its connection to be given back.
func (p *poller) close() {
	p.mu.Lock()
	stop := p.stop
	p.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	<-p.done
}

func (p *poller) run(ctx context.Context, seq int64) {
	defer close(p.done)
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	version := int64(-1)
	failing := false
	tick := time.NewTicker(SQLitePollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		began := time.Now()
		err := func() error {
			if conn == nil {
				c, err := p.s.db.Conn(ctx)
				if err != nil {
					return err
				}
				conn, version = c, -1
			}
			var v int64
			if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
				conn.Close()
				conn = nil
				return err
			}
			if v == version {
				return nil
			}
			if err := p.tell(ctx, conn, &seq); err != nil {
				return err
			}
			version = v
			return nil
		}()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			p.log.Warn("cannot read the store for other processes' changes; trying again (their changes reach this process late meanwhile)", "err", oneLine(err))
		case err == nil && failing:
			failing = false
			p.log.Info("reading the store for other processes' changes again")
			p.s.watch.send([]string{directory.AllTargets})
		}
		if err == nil {
			p.caught.Store(began.UnixNano())
		}
	}
}

// tell reads the audit events after *seq and tells their targets.
func (p *poller) tell(ctx context.Context, conn *sql.Conn, seq *int64) error {
	for {
		rows, err := conn.QueryContext(ctx, "SELECT seq, target FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2", *seq, pollPage)
		if err != nil {
			return err
		}
		var targets []string
		seen := map[string]bool{}
		n := 0
		last := *seq
		for rows.Next() {
			var target string
			if err := rows.Scan(&last, &target); err != nil {
				rows.Close()
				return err
			}
			n++
			if p.told(last) {
				continue
			}
			if !seen[target] {
				seen[target] = true
				targets = append(targets, target)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		*seq = last
		p.s.watch.send(targets)
		if n < pollPage {
			return nil
		}
	}
}
