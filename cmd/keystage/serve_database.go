package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory/sqlstore"
)

// While the database is away every request that needs it fails and logs
// its own error; what a technician looks for in the log is the one line
// that says the database went, and the one that says it came back. The
// database monitor pings it on a timer and writes exactly those lines,
// once per change, and tells the metrics whether the database answers so
// that a scrape skips the figures read from it instead of failing.

const (
	// databasePing is how often the monitor asks; an outage shorter than
	// this may go unlogged (the requests it failed still log theirs).
	databasePing = time.Second
	// databasePingTimeout bounds one ask: a database that does not answer
	// within it counts as away.
	databasePingTimeout = 2 * time.Second
)

// databaseMonitor follows whether the database answers.
type databaseMonitor struct {
	s     *sqlstore.Store
	log   *slog.Logger
	every time.Duration
	down  atomic.Bool
}

func newDatabaseMonitor(s *sqlstore.Store, log *slog.Logger) *databaseMonitor {
	return &databaseMonitor{s: s, log: log, every: databasePing}
}

// up reports whether the database answered the last ping; a nil monitor
// (no frontend runs one) says yes, and the figures are read regardless.
func (m *databaseMonitor) up() bool { return m == nil || !m.down.Load() }

// check pings once and logs a change of state.
func (m *databaseMonitor) check(ctx context.Context, downSince *time.Time) {
	pctx, cancel := context.WithTimeout(ctx, databasePingTimeout)
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

// frontend runs the monitor with the others, and registers its metrics.
func (m *databaseMonitor) frontend() *frontend {
	return &frontend{
		name: "database monitor",
		metrics: func(reg prometheus.Registerer) error {
			return reg.Register(databaseCollector{m})
		},
		serve: func(ctx context.Context) error {
			t := time.NewTicker(m.every)
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
		},
	}
}

// databaseCollector exports whether the database answers and, on
// PostgreSQL, whether this node hears the others' changes.
type databaseCollector struct{ m *databaseMonitor }

var (
	databaseUpDesc = prometheus.NewDesc("keystage_database_up",
		"1 while the database answered this node's last ping (every second), 0 while it is unreachable.", nil, nil)
	listenerUpDesc = prometheus.NewDesc("keystage_database_listener_up",
		"PostgreSQL only: 1 while this node hears the other nodes' changes as they commit, 0 while its listener reconnects.", nil, nil)
	listenerLostDesc = prometheus.NewDesc("keystage_database_listener_lost_total",
		"PostgreSQL only: times this node's change listener lost its connection (each time it reconnects by itself and re-reads what changed).", nil, nil)
)

func (c databaseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- databaseUpDesc
	ch <- listenerUpDesc
	ch <- listenerLostDesc
}

func (c databaseCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(databaseUpDesc, prometheus.GaugeValue, boolFloat(c.m.up()))
	if st, ok := c.m.s.Listener(); ok {
		ch <- prometheus.MustNewConstMetric(listenerUpDesc, prometheus.GaugeValue, boolFloat(st.Up))
		ch <- prometheus.MustNewConstMetric(listenerLostDesc, prometheus.CounterValue, float64(st.Lost))
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
