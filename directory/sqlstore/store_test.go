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

// Several processes write one SQLite file (keystage serve and the commands
// run beside it); a second server, and a migration beside another writer,
// are refused with a line that says what to do.
func TestWritersBesideEachOther(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keystage.db")
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: path, Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	w, err := sqlstore.Open(ctx, sqlstore.Config{URL: path})
	if err != nil {
		t.Fatalf("a command's writer beside the server: %v", err)
	}
	addAccount(t, w, "beside")
	if _, err := s.AccountByUsername(ctx, "beside"); err != nil {
		t.Errorf("the server does not read the command's commit: %v", err)
	}
	_, err = sqlstore.Open(ctx, sqlstore.Config{URL: path, Serve: true})
	if !errors.Is(err, directory.ErrLocked) || !strings.Contains(err.Error(), "another keystage process serves it") {
		t.Fatalf("second server: err = %v, want ErrLocked naming the server", err)
	}
	// A reader may open while the writers run.
	r, err := sqlstore.Open(ctx, sqlstore.Config{URL: path, ReadOnly: true})
	if err != nil {
		t.Fatalf("reader beside a writer: %v", err)
	}
	if _, err := r.CountAccounts(ctx, directory.AccountQuery{}); err != nil {
		t.Errorf("reader: %v", err)
	}
	r.Close()
	w.Close()

	// A schema one migration behind, as a newer keystage finds it while
	// the older server runs: the migration waits for the server to stop.
	if _, err := s.DB().ExecContext(ctx, "DELETE FROM goose_db_version WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)"); err != nil {
		t.Fatal(err)
	}
	_, err = sqlstore.Open(ctx, sqlstore.Config{URL: path})
	if !errors.Is(err, directory.ErrLocked) || !strings.Contains(err.Error(), "run keystage migrate up, then start it again") {
		t.Fatalf("migration beside a writer: err = %v, want ErrLocked saying to stop it first", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is more than one line: %q", err)
	}
	// The refused migration left the server its shared lock: a command
	// still opens beside it once the schema is whole again.
	s.Close()
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
