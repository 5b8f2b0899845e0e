package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"keystage.dev/keystage/directory"
)

// TestMapErrByDriverType checks that conflicts are told by the drivers'
// codes, not by words that may appear anywhere in an error's text.
func TestMapErrByDriverType(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The CHECK's own text quotes a UNIQUE failure, so a text match misreads it.
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, u TEXT UNIQUE,
		c TEXT CHECK (c <> 'UNIQUE constraint failed SQLSTATE 23505'))`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO t VALUES (1, 'a', 'x')`); err != nil {
		t.Fatal(err)
	}
	pgUnique := &pgconn.PgError{Code: "23505", Message: "duplicate key value violates unique constraint"}
	pgNotNull := &pgconn.PgError{Code: "23502", Message: "null value violates not-null constraint: UNIQUE constraint failed"}
	cases := []struct {
		name     string
		err      error
		conflict bool
	}{
		{"sqlite primary key", exec(db, `INSERT INTO t VALUES (1, 'b', 'x')`), true},
		{"sqlite unique", exec(db, `INSERT INTO t VALUES (2, 'a', 'x')`), true},
		{"sqlite check quoting a conflict", exec(db, `INSERT INTO t VALUES (3, 'c', 'UNIQUE constraint failed SQLSTATE 23505')`), false},
		{"postgres unique, wrapped", fmt.Errorf("insert: %w", pgUnique), true},
		{"postgres not null quoting a conflict", pgNotNull, false},
		{"plain text", errors.New("UNIQUE constraint failed (SQLSTATE 23505)"), false},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Fatalf("%s: the statement succeeded", c.name)
		}
		got := errors.Is(mapErr(c.err), directory.ErrConflict)
		if got != c.conflict {
			t.Errorf("%s: conflict = %v, want %v (%v)", c.name, got, c.conflict, c.err)
		}
	}
}

func exec(db *sql.DB, q string) error {
	_, err := db.Exec(q)
	return err
}
