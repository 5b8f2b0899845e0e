package sqlstore

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// While the database is away every request that needs it fails and logs
// its own error; what a technician looks for in the log is the one line
// that says the database went, and the one that says it came back. The
// Monitor pings it on a timer and writes exactly those lines, once per
// change, and tells the metrics whether the database answers so that a
// scrape skips the figures read from it instead of failing.

const (
	// DefaultPingEvery is how often a Monitor asks; an outage shorter than
	// this may go unlogged (the requests it failed still log theirs).
	DefaultPingEvery = time.Second
	// pingTimeout bounds one ask: a database that does not answer within
	// it counts as away.
	pingTimeout = 2 * time.Second
)

// Monitor follows whether the database answers.
type Monitor struct {
	s    *Store
	log  *slog.Logger
	down atomic.Bool
	// Every is how often Run pings: DefaultPingEvery unless changed
	// before Run.
	Every time.Duration
}

// NewMonitor returns a monitor of s that logs to log.
func NewMonitor(s *Store, log *slog.Logger) *Monitor {
	return &Monitor{s: s, log: log, Every: DefaultPingEvery}
}

// Up reports whether the database answered the last ping; a nil monitor
// (none runs) says yes, and the figures are read regardless.
func (m *Monitor) Up() bool { return m == nil || !m.down.Load() }

// Store is the store the monitor pings.
func (m *Monitor) Store() *Store { return m.s }

// Run pings every m.Every until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.Every)
	defer t.Stop()
	var downSince time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.check(ctx, &downSince)
		}
	}
}

// check pings once and logs a change of state.
func (m *Monitor) check(ctx context.Context, downSince *time.Time) {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	err := m.s.Ping(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	// The line is written before the state changes, so that whoever sees
	// the new state in /metrics finds the line in the log.
	switch {
	case err != nil && !m.down.Load():
		*downSince = time.Now()
		m.log.Error("database unreachable: sign-ins and changes fail until it answers; Keystage reconnects by itself",
			"dialect", string(m.s.Dialect()), "err", err)
		m.down.Store(true)
	case err == nil && m.down.Load():
		m.log.Info("database reachable again", "dialect", string(m.s.Dialect()), "away", time.Since(*downSince).Round(time.Second))
		m.down.Store(false)
	}
}
