package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/directory/sqlstore/pgtest"
	"keystage.dev/keystage/server"
)

// /healthz follows the database: 200 while PostgreSQL answers, 503 while
// it cannot be reached, 200 again when it can, without a restart.
func TestHealthFollowsPostgres(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.URL(t))
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: proxy.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := serveMetrics(t, s)
	health := "http://" + addr + "/healthz"
	// waitFor polls until /healthz gives want; the deadline only bounds a
	// broken test.
	waitFor := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, _ := httpGet(t, health)
			if code == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: /healthz says %d, want %d", what, code, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(http.StatusOK, "database up")
	proxy.Cut()
	waitFor(http.StatusServiceUnavailable, "database cut off")
	proxy.Mend()
	waitFor(http.StatusOK, "database back")
}

// /metrics answers while the database is away: the figures read from it
// are left out and keystage_database_up says 0; the log says once that the
// database went and once that it came back, however many pings failed.
func TestMetricsAnswerWhileDatabaseAway(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.URL(t))
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: proxy.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var logBuf syncBuffer
	mon := server.NewDatabaseMonitor(s, slog.New(slog.NewTextHandler(&logBuf, nil)))
	mon.Every = 50 * time.Millisecond
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mon.Frontend().Serve(mctx) }()
	defer func() { cancel(); <-done }()

	cfg := defaults()
	cfg.Metrics.Listen = "127.0.0.1:0"
	f, err := server.MetricsFrontend(cfg.Metrics.Listen, s, directory.New(s, directory.Config{}), []server.Frontend{*mon.Frontend()}, mon)
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- f.Serve(sctx) }()
	defer func() { stop(); <-served }()
	metrics := "http://" + f.Addrs[0] + "/metrics"

	// waitFor scrapes until the body holds want; every scrape must succeed.
	// The deadline only bounds a broken test.
	waitFor := func(want, what string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := httpGet(t, metrics)
			if code != http.StatusOK {
				t.Fatalf("%s: /metrics answered %d:\n%s", what, code, body)
			}
			if strings.Contains(body, want) {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: /metrics never said %q", what, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	body := waitFor("\nkeystage_database_up 1\n", "database up")
	if !strings.Contains(body, "keystage_audit_chain_length") {
		t.Error("/metrics lacks keystage_audit_chain_length while the database answers")
	}
	proxy.Cut()
	body = waitFor("\nkeystage_database_up 0\n", "database cut off")
	if strings.Contains(body, "keystage_audit_chain_length") {
		t.Error("/metrics gives keystage_audit_chain_length while the database is unreachable")
	}
	// Many pings fail meanwhile; the log says so once.
	for range 10 {
		if code, body := httpGet(t, metrics); code != http.StatusOK {
			t.Fatalf("database cut off: /metrics answered %d:\n%s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	proxy.Mend()
	waitFor("\nkeystage_database_up 1\n", "database back")
	log := logBuf.String()
	if n := strings.Count(log, "database unreachable"); n != 1 {
		t.Errorf("%d lines say the database is unreachable, want 1:\n%s", n, log)
	}
	if n := strings.Count(log, "database reachable again"); n != 1 {
		t.Errorf("%d lines say the database is reachable again, want 1:\n%s", n, log)
	}
}

// syncBuffer is a bytes.Buffer that a logger and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
