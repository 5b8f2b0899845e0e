package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/directory/sqlstore/pgtest"
	"keystage.dev/keystage/directory/storetest"
)

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, OpenSQLite)
}

func TestPostgresConformance(t *testing.T) {
	storetest.Run(t, OpenPostgres)
}

// OpenSQLite opens a fresh SQLite store in the test's temporary directory.
func OpenSQLite(t *testing.T) directory.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// OpenPostgres opens a fresh store in a schema of its own in the database
// named by KEYSTAGE_TEST_POSTGRES, and skips without it.
func OpenPostgres(t *testing.T) directory.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: PostgresURL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL is a fresh schema's URL; see pgtest.
func PostgresURL(t *testing.T) string { return pgtest.URL(t) }

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cases := []struct {
		name, url, want string
	}{
		{"missing data directory", "sqlite:" + filepath.Join(dir, "nope", "keystage.db"), "data directory"},
		{"data directory is a file", "sqlite:" + filepath.Join(dir, "file", "keystage.db"), "not a directory"},
		{"wrong postgres URL", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "open postgres database"},
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sqlstore.Open(ctx, sqlstore.Config{URL: c.url})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
		t.Error("a failed open created the data directory")
	}
}

func TestSecondWriterRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keystage.db")
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: path})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlstore.Open(ctx, sqlstore.Config{URL: path})
	if !errors.Is(err, directory.ErrLocked) {
		t.Fatalf("second writer: err = %v, want ErrLocked", err)
	}
	// A reader may open while the writer runs.
	r, err := sqlstore.Open(ctx, sqlstore.Config{URL: path, ReadOnly: true})
	if err != nil {
		t.Fatalf("reader beside a writer: %v", err)
	}
	if _, err := r.CountAccounts(ctx, directory.AccountQuery{}); err != nil {
		t.Errorf("reader: %v", err)
	}
	r.Close()
	s.Close()
	s2, err := sqlstore.Open(ctx, sqlstore.Config{URL: path})
	if err != nil {
		t.Fatalf("reopen after the writer closed: %v", err)
	}
	s2.Close()
}

func TestSchemaAheadRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keystage.db")
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlstore.Open(ctx, sqlstore.Config{URL: path})
	if !errors.Is(err, directory.ErrSchemaAhead) {
		t.Fatalf("err = %v, want ErrSchemaAhead", err)
	}
}

func TestReadOnlyNeedsExistingStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keystage.db")
	_, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: path, ReadOnly: true})
	if err == nil || !strings.Contains(err.Error(), "keystage") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a read-only open created the database")
	}
}
