package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

// twoWriters opens two stores on one SQLite file, as keystage serve and a
// command run beside it do: each has its own connections, so SQLite tells
// one of the other's commits as it would another process.
func twoWriters(t *testing.T) (server, command *sqlstore.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keystage.db")
	var err error
	server, err = sqlstore.Open(context.Background(), sqlstore.Config{URL: path, Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	command, err = sqlstore.Open(context.Background(), sqlstore.Config{URL: path})
	if err != nil {
		t.Fatalf("a writer beside the server: %v", err)
	}
	t.Cleanup(func() { command.Close() })
	return server, command
}

// A change committed by another writer of the SQLite file is told to the
// server's watchers: the frontends forget and re-check what it touched.
func TestWatchHearsAnotherWriterSQLite(t *testing.T) {
	server, command := twoWriters(t)
	ch := collect(t, server)
	addAccount(t, command, "cronjob")
	await(t, ch, "cronjob")
	addAccount(t, command, "second")
	await(t, ch, "second")
}

// The server's statement cache does not hide another writer's commits: a
// prepared read run again sees the new row.
func TestStatementCacheSeesAnotherWriter(t *testing.T) {
	server, command := twoWriters(t)
	ctx := context.Background()
	addAccount(t, server, "cached")
	if _, err := server.AccountByUsername(ctx, "cached"); err != nil {
		t.Fatal(err)
	}
	if err := command.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		a, err := tx.AccountByUsername(ctx, "cached")
		if err != nil {
			return err
		}
		if _, err := tx.UpdateAccount(ctx, a.ID, func(a *directory.Account) error {
			a.Status = directory.StatusDisabled
			return nil
		}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "account.disable", Target: "account:cached"})
	}); err != nil {
		t.Fatal(err)
	}
	a, err := server.AccountByUsername(ctx, "cached")
	if err != nil || a.Status != directory.StatusDisabled {
		t.Fatalf("server reads %v %v after the other writer disabled it", a.Status, err)
	}
}

// Two writers committing at once keep the audit chain linear: every
// transaction begins IMMEDIATE, so each reads the head only after the one
// before it committed.
func TestConcurrentWritersKeepAuditChain(t *testing.T) {
	server, command := twoWriters(t)
	ctx := context.Background()
	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for i, s := range []*sqlstore.Store{server, command} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				if err := createAccount(s, fmt.Sprintf("w%d-%d", i, j)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a writer failed: %v", err)
	}
	rep, err := directory.VerifyTrail(ctx, server, audit.NewKeys())
	if err != nil {
		t.Fatalf("audit chain after two writers: %v", err)
	}
	if rep.Events != 2*each {
		t.Errorf("chain holds %d events, want %d", rep.Events, 2*each)
	}
}

// A store's own commits are told once, at commit: the poller that hears
// other writers passes them by.
func TestWatchTellsOwnCommitOnce(t *testing.T) {
	server, _ := twoWriters(t)
	ch := collect(t, server)
	addAccount(t, server, "own")
	await(t, ch, "own")
	time.Sleep(3 * sqlstore.SQLitePollInterval)
	select {
	case got := <-ch:
		t.Errorf("told %v again", got)
	default:
	}
}
