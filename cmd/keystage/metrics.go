package main

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

// MetricsSection configures the Prometheus and health endpoint.
type MetricsSection struct {
	// Listen is where /metrics and /healthz are served; empty: off. Keep
	// it on a management network: the figures say who uses the network.
	Listen string `toml:"listen"`
}

const exampleMetrics = `
[metrics]
# Prometheus metrics at /metrics and a health check for load balancers at
# /healthz (200 while the database answers and the key file opens its
# secrets). Empty: off.
listen = ""   # e.g. "127.0.0.1:9464"
`

func (m *MetricsSection) validate(p *problems) {
	if m.Listen == "" {
		return
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		p.add("metrics.listen %q: want host:port", m.Listen)
	}
}

// metricsRegistry gathers the process, the database pool, the directory's
// own figures (read at scrape time, so they cost nothing between scrapes),
// the requests, lockouts and job runs that d's hooks report, and whatever
// each frontend registers.
func metricsRegistry(s *sqlstore.Store, d *directory.Directory, fes []frontend) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	rm := newRequestMetrics()
	if err := rm.register(reg); err != nil {
		return nil, err
	}
	rm.attach(d)
	reg.MustRegister(syncCollector{s})
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(collectors.NewDBStatsCollector(s.DB(), string(s.Dialect())))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "keystage_audit_chain_length", Help: "Events in the audit trail.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		seq, _, err := s.AuditHead(ctx)
		if err != nil {
			return -1
		}
		return float64(seq)
	}))
	for _, st := range []directory.Status{directory.StatusActive, directory.StatusDisabled} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "keystage_accounts", Help: "Accounts by status.", ConstLabels: prometheus.Labels{"status": string(st)},
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n, err := s.CountAccounts(ctx, directory.AccountQuery{Status: st})
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	for _, f := range fes {
		if f.metrics == nil {
			continue
		}
		if err := f.metrics(reg); err != nil {
			return nil, fmt.Errorf("metrics of %s: %w", f.name, err)
		}
	}
	return reg, nil
}

// metricsFrontend serves /metrics and /healthz.
func metricsFrontend(cfg *Config, s *sqlstore.Store, d *directory.Directory, fes []frontend) (*frontend, error) {
	if cfg.Metrics.Listen == "" {
		return nil, nil
	}
	reg, err := metricsRegistry(s, d, fes)
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
	ln, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return &frontend{
		name:  "metrics",
		addrs: []string{ln.Addr().String()},
		hints: []string{"curl -s http://" + ln.Addr().String() + "/metrics | grep ^keystage_"},
		close: ln.Close,
		serve: func(ctx context.Context) error {
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
