package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/directory/sqlstore"
)

func TestMetricsAndHealth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := defaults()
	cfg.Metrics.Listen = "127.0.0.1:0"
	f, err := metricsFrontend(&cfg, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.serve(ctx) }()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + f.addrs[0] + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{`keystage_accounts{status="active"} 331` /* 330 people and the LDAP service account */, "keystage_audit_chain_length", "go_sql_open_connections"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	s.Close()
	if code, _ := get("/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz with the database closed: %d, want 503", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}
