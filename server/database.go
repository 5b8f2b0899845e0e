package server

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory/sqlstore"
)

// DatabaseMonitor follows whether the database answers (see
// sqlstore.Monitor); nil when no frontend runs one.
type DatabaseMonitor struct{ *sqlstore.Monitor }

// NewDatabaseMonitor pings s every second (see sqlstore.Monitor) once its
// Frontend serves.
func NewDatabaseMonitor(s *sqlstore.Store, log *slog.Logger) *DatabaseMonitor {
	return &DatabaseMonitor{sqlstore.NewMonitor(s, log)}
}

// up reports whether the database answered the last ping; a nil monitor
// says yes, and the figures are read regardless.
func (m *DatabaseMonitor) up() bool { return m == nil || m.Up() }

// Frontend runs the monitor with the others, and registers its metrics.
func (m *DatabaseMonitor) Frontend() *Frontend {
	return &Frontend{
		Name: "database monitor",
		Metrics: func(reg prometheus.Registerer) error {
			return reg.Register(databaseCollector{m})
		},
		Serve: m.Run,
	}
}

// databaseCollector exports whether the database answers and, on
// PostgreSQL, whether this node hears the others' changes.
type databaseCollector struct{ m *DatabaseMonitor }

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
	if st, ok := c.m.Store().Listener(); ok {
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
