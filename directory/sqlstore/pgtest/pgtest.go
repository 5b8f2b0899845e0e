// Package pgtest gives tests a fresh PostgreSQL schema of their own in the
// database that KEYSTAGE_TEST_POSTGRES names, dropped when the test ends.
// It is for tests only. Without KEYSTAGE_TEST_POSTGRES a test skips, except
// in CI (CI=true), where it fails: CI must run PostgreSQL.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"keystage.dev/keystage/directory/sqlstore"
)

// seq keeps schema names apart within one test binary; the time keeps them
// apart between binaries sharing the cluster.
var seq atomic.Int64

// URL makes a fresh schema and returns a URL whose search_path is it. Open
// it as many times as the test has nodes.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("KEYSTAGE_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KEYSTAGE_TEST_POSTGRES is not set in CI: .ci/run must start PostgreSQL")
		}
		t.Skip("KEYSTAGE_TEST_POSTGRES is not set: this test needs PostgreSQL (export KEYSTAGE_TEST_POSTGRES=$(.ci/postgres))")
	}
	ctx := context.Background()
	admin, err := sqlstore.OpenRaw(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("t_%d_%d", time.Now().UnixNano(), seq.Add(1))
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := sqlstore.OpenRaw(context.Background(), base)
		if err == nil {
			admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			admin.Close()
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
