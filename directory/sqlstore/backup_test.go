package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

func addAccount(t *testing.T, s directory.Store, name string) {
	t.Helper()
	if err := createAccount(s, name); err != nil {
		t.Fatal(err)
	}
}

// createAccount stores a staff account with its audit event.
func createAccount(s directory.Store, name string) error {
	return s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		a := directory.Account{Username: name, Role: directory.RoleStaff}
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "account.create", Target: name})
	})
}

func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "keystage.db")
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	addAccount(t, s, "before")
	backup := filepath.Join(dir, "backup.db")
	// Online: the store stays open, as under a running server.
	if err := sqlstore.Backup(ctx, db, backup); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Backup(ctx, db, backup); err == nil {
		t.Error("a backup overwrote an existing file")
	}
	addAccount(t, s, "after")
	if err := sqlstore.Restore(ctx, backup, db); !errors.Is(err, directory.ErrLocked) {
		t.Fatalf("restore under a running store: %v, want ErrLocked", err)
	}
	s.Close()
	if err := sqlstore.Restore(ctx, backup, db); err != nil {
		t.Fatal(err)
	}
	r, err := sqlstore.Open(ctx, sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.AccountByUsername(ctx, "before"); err != nil {
		t.Errorf("restored store lacks the account made before the backup: %v", err)
	}
	if _, err := r.AccountByUsername(ctx, "after"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("restored store has the account made after the backup: %v", err)
	}
	// The audit trail came back whole.
	events, _ := r.AuditEvents(ctx, 0, 10)
	v := audit.NewVerifier(0, "")
	for _, e := range events {
		if err := v.Next(e); err != nil {
			t.Fatal(err)
		}
	}
	if len(events) != 1 {
		t.Errorf("restored trail has %d events, want 1", len(events))
	}
}

func TestRestoreRefusesGarbage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "keystage.db")
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	addAccount(t, s, "keep")
	s.Close()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("not a database at all, just text"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Restore(ctx, junk, db); err == nil {
		t.Fatal("restored from a file that is not a store")
	}
	r, err := sqlstore.Open(ctx, sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.AccountByUsername(ctx, "keep"); err != nil {
		t.Errorf("a refused restore damaged the store: %v", err)
	}
}

// A backup taken while writers commit is one snapshot: every account in
// it has its audit event, and the chain verifies to its end.
func TestBackupUnderWritesIsConsistent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "keystage.db")
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	wrote := make(chan int)
	go func() {
		n := 0
		defer func() { wrote <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := createAccount(s, fmt.Sprintf("writer%d", n)); err != nil {
				t.Error(err) // not Fatal: this is not the test's goroutine
				return
			}
			n++
		}
	}()
	// Let some land first; the writer goes on during the backup.
	for {
		c, err := s.CountAccounts(ctx, directory.AccountQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if c >= 20 {
			break
		}
	}
	backup := filepath.Join(dir, "backup.db")
	if err := sqlstore.Backup(ctx, db, backup); err != nil {
		t.Fatal(err)
	}
	close(stop)
	total := <-wrote
	b, err := sqlstore.Open(ctx, sqlstore.Config{URL: backup, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	accounts, err := b.CountAccounts(ctx, directory.AccountQuery{})
	if err != nil {
		t.Fatal(err)
	}
	events, err := b.AuditEvents(ctx, 0, total+10)
	if err != nil {
		t.Fatal(err)
	}
	v := audit.NewVerifier(0, "")
	for _, e := range events {
		if err := v.Next(e); err != nil {
			t.Fatalf("backup's chain at %d: %v", e.Seq, err)
		}
	}
	if accounts != len(events) || accounts == 0 {
		t.Errorf("backup holds %d accounts and %d events; want as many of each, and some", accounts, len(events))
	}
	t.Logf("backup holds %d of the %d accounts written", accounts, total)
}
