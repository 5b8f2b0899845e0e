package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

// MetricsRegistry gathers the process, the database pool, the directory's
// own figures (read at scrape time, so they cost nothing between scrapes),
// the requests, lockouts and job runs that d's hooks report, and whatever
// each frontend registers. mon (nil: none runs) says whether the database
// answers.
func MetricsRegistry(s *sqlstore.Store, d *directory.Directory, fes []Frontend, mon *DatabaseMonitor) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	rm := newRequestMetrics()
	if err := rm.register(reg); err != nil {
		return nil, err
	}
	rm.attach(d)
	reg.MustRegister(storeCollector{s: s, mon: mon})
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(collectors.NewDBStatsCollector(s.DB(), string(s.Dialect())))
	for _, f := range fes {
		if f.Metrics == nil {
			continue
		}
		if err := f.Metrics(reg); err != nil {
			return nil, fmt.Errorf("metrics of %s: %w", f.Name, err)
		}
	}
	return reg, nil
}

// MetricsFrontend serves /metrics and /healthz on listen (host:port; empty:
// nil, no frontend), with the collectors of fes.
func MetricsFrontend(listen string, s *sqlstore.Store, d *directory.Directory, fes []Frontend, mon *DatabaseMonitor) (*Frontend, error) {
	if listen == "" {
		return nil, nil
	}
	reg, err := MetricsRegistry(s, d, fes, mon)
	if err != nil {
		return nil, err
	}
	secrets := newSecretsHealth(d)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		if err := secrets.check(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return &Frontend{
		Name:  "metrics",
		Addrs: []string{ln.Addr().String()},
		Hints: []string{"curl -s http://" + ln.Addr().String() + "/metrics | grep ^keystage_"},
		Close: ln.Close,
		Serve: func(ctx context.Context) error {
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(sctx)
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}, nil
}

// storeCollector exports the figures read from the database at scrape
// time. A scrape must answer while the database is away (that is when the
// alerts matter), so a figure that cannot be read is left out, never an
// error: all of them while the monitor finds the database unreachable,
// and each one whose read fails. keystage_database_up says which it is.
type storeCollector struct {
	s   *sqlstore.Store
	mon *DatabaseMonitor
}

// storeScrapeBudget bounds all the reads of one scrape together.
const storeScrapeBudget = 3 * time.Second

// syncKinds are the SyncRun kinds whose last run is exported.
var syncKinds = []string{"sync", "leavers", "purge", "ad"}

var (
	syncLastDesc = prometheus.NewDesc("keystage_sync_last_finished_timestamp_seconds",
		"When the last MIS sync or lifecycle job of each kind finished (applied or planned), on any node; absent when none has run, or while the database is unreachable.",
		[]string{"kind"}, nil)
	chainLengthDesc = prometheus.NewDesc("keystage_audit_chain_length",
		"Events in the audit trail; absent while the database is unreachable.", nil, nil)
	adWaitingDesc = prometheus.NewDesc("keystage_ad_passwords_waiting",
		"Passwords set in Keystage and not yet set in Active Directory, with the oldest one's age; absent while the database is unreachable.", []string{"what"}, nil)
	accountsDesc = prometheus.NewDesc("keystage_accounts",
		"Accounts by status; absent while the database is unreachable.", []string{"status"}, nil)
)

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- syncLastDesc
	ch <- chainLengthDesc
	ch <- accountsDesc
	ch <- adWaitingDesc
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	if !c.mon.up() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeScrapeBudget)
	defer cancel()
	if seq, _, err := c.s.AuditHead(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(chainLengthDesc, prometheus.GaugeValue, float64(seq))
	}
	for _, st := range []directory.Status{directory.StatusActive, directory.StatusDisabled} {
		if n, err := c.s.CountAccounts(ctx, directory.AccountQuery{Status: st}); err == nil {
			ch <- prometheus.MustNewConstMetric(accountsDesc, prometheus.GaugeValue, float64(n), string(st))
		}
	}
	// Passwords waiting for Active Directory: a count that does not fall,
	// or an oldest one that ages, is a domain controller Keystage cannot
	// reach or one that refuses them.
	if pending, err := c.s.PendingPasswords(ctx, "ad", 0); err == nil {
		age := 0.0
		if len(pending) > 0 {
			age = time.Since(pending[0].CreatedAt).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(adWaitingDesc, prometheus.GaugeValue, float64(len(pending)), "count")
		ch <- prometheus.MustNewConstMetric(adWaitingDesc, prometheus.GaugeValue, age, "oldest_seconds")
	}
	// The last run of each kind, on any node: the runs are in the shared
	// database. An alert on its age catches a schedule that stopped
	// everywhere.
	for _, kind := range syncKinds {
		runs, err := c.s.SyncRuns(ctx, kind, 1)
		if err != nil || len(runs) == 0 || runs[0].FinishedAt.IsZero() {
			continue
		}
		ch <- prometheus.MustNewConstMetric(syncLastDesc, prometheus.GaugeValue, float64(runs[0].FinishedAt.UnixMilli())/1000, kind)
	}
}
