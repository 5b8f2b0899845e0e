package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/directory/sqlstore/pgtest"
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
