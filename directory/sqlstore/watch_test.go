package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/directory/sqlstore/pgtest"
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
	a, b := twoNodes(t)
	onB := collect(t, b)
	addAccount(t, a, "leaver")
	await(t, onB, "leaver")
}

// BenchmarkChangeToOtherNode is a change committed on one node until
// another node is told of it: what a RADIUS or LDAP frontend on node B
// waits before it forgets the account. Run it with
// KEYSTAGE_TEST_POSTGRES set.
func BenchmarkChangeToOtherNode(b *testing.B) {
	ctx := context.Background()
	a, nodeB := twoNodes(b)
	told := make(chan string, 16)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := nodeB.Watch(wctx, func(targets []string) {
		for _, t := range targets {
			told <- t
		}
	}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("bench%d", i)
		if err := createAccount(a, name); err != nil {
			b.Fatal(err)
		}
		for t := range told {
			if t == name {
				break
			}
		}
	}
}

// twoNodes opens two stores on one fresh PostgreSQL schema, closed when the
// test ends.
func twoNodes(tb testing.TB) (*sqlstore.Store, *sqlstore.Store) {
	tb.Helper()
	u := pgtest.URL(tb)
	var nodes [2]*sqlstore.Store
	for i := range nodes {
		s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		nodes[i] = s
	}
	return nodes[0], nodes[1]
}

// A node whose database goes away for longer than its back-off hears
// changes again once it is back, without a restart, is told to re-read
// everything (it heard nothing meanwhile), and counts the loss.
func TestWatchSurvivesOutage(t *testing.T) {
	u := pgtest.URL(t)
	proxy := pgtest.NewProxy(t, u)
	a, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: proxy.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	onB := collect(t, b)
	addAccount(t, a, "before")
	await(t, onB, "before")

	proxy.Cut()
	// Several attempts fail while cut: longer than one retry.
	time.Sleep(3 * time.Second)
	addAccount(t, a, "meanwhile")
	proxy.Mend()
	await(t, onB, directory.AllTargets)
	addAccount(t, a, "after")
	await(t, onB, "after")
	st, ok := b.Listener()
	if !ok || !st.Up || st.Lost < 1 {
		t.Errorf("listener stats %+v (ok %v); want up, lost at least once", st, ok)
	}
}

// A node that cannot reach the database when it first watches keeps
// trying, and once it listens tells its watchers to re-read everything and
// then hears changes.
func TestWatchStartsWhileDatabaseAway(t *testing.T) {
	u := pgtest.URL(t)
	proxy := pgtest.NewProxy(t, u)
	a, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: proxy.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	proxy.Cut()
	onB := collect(t, b)
	if st, _ := b.Listener(); st.Up {
		t.Fatal("the listener says it is up with the database cut off")
	}
	proxy.Mend()
	await(t, onB, directory.AllTargets)
	addAccount(t, a, "after")
	await(t, onB, "after")
}
