package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

// collect gathers watched targets on a channel.
func collect(t *testing.T, s directory.Store) <-chan []string {
	t.Helper()
	w, ok := s.(directory.Watcher)
	if !ok {
		t.Fatal("store is not a Watcher")
	}
	ch := make(chan []string, 16)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := w.Watch(ctx, func(targets []string) { ch <- targets }); err != nil {
		t.Fatal(err)
	}
	return ch
}

// await waits for a target to be told; the deadline only bounds a broken
// test, it asserts nothing about speed.
func await(t *testing.T, ch <-chan []string, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case targets := <-ch:
			for _, got := range targets {
				if got == want {
					return
				}
			}
		case <-deadline:
			t.Fatalf("never told of %s", want)
		}
	}
}

func TestWatchSQLite(t *testing.T) {
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch := collect(t, s)
	addAccount(t, s, "watched")
	await(t, ch, "watched")
	// A rolled-back transaction tells nothing.
	s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		a := directory.Account{Username: "ghost", Role: directory.RoleStaff}
		return tx.CreateAccount(ctx, &a) // no audit event: ErrUnaudited, rolled back
	})
	addAccount(t, s, "second")
	if got := <-ch; len(got) != 1 || got[0] != "second" {
		t.Errorf("after a rollback, told %v; want only [second]", got)
	}
}

// Two stores on one PostgreSQL database stand for two nodes: a change on
// one is told on the other.
func TestWatchAcrossPostgresNodes(t *testing.T) {
	u := PostgresURL(t)
	ctx := context.Background()
	a, err := sqlstore.Open(ctx, sqlstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.Open(ctx, sqlstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	onB := collect(t, b)
	addAccount(t, a, "leaver")
	await(t, onB, "leaver")
}
