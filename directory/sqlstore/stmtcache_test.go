package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func TestStmtCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.stmts == nil || s.reader.q != s.stmts {
		t.Fatal("a SQLite store does not read through its statement cache")
	}
	base := s.stmts.len()
	// The same query twice is prepared once, and answers each time.
	for i := range 2 {
		var n int
		if err := s.stmts.QueryRowContext(ctx, "SELECT $1 + 1", i).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("SELECT %d + 1 = %d, %v", i, n, err)
		}
	}
	if got := s.stmts.len(); got != base+1 {
		t.Errorf("one query run twice: %d statements kept, want %d", got, base+1)
	}
	// Past the bound, queries still answer, unprepared.
	for i := range maxCachedStmts + 10 {
		q := fmt.Sprintf("SELECT $1 + %d", i)
		rows, err := s.stmts.QueryContext(ctx, q, 1)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var n int
		if !rows.Next() || rows.Scan(&n) != nil || n != i+1 {
			t.Fatalf("%s with 1 = %d", q, n)
		}
		rows.Close()
	}
	if got := s.stmts.len(); got != maxCachedStmts {
		t.Errorf("%d statements kept, want the bound %d", got, maxCachedStmts)
	}
	// Writes go through it too, and take effect.
	if _, err := s.stmts.ExecContext(ctx, "CREATE TABLE t (n INTEGER)"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.stmts.ExecContext(ctx, "INSERT INTO t (n) VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
	}
	var sum int
	if err := s.stmts.QueryRowContext(ctx, "SELECT sum(n) FROM t").Scan(&sum); err != nil || sum != 3 {
		t.Errorf("three inserts through the cache: sum %d, %v; want 3", sum, err)
	}
	// A query that does not prepare fails as it would unprepared.
	if err := s.stmts.QueryRowContext(ctx, "SELECT FROM nowhere").Scan(new(int)); err == nil {
		t.Error("a malformed query succeeded")
	}
}
