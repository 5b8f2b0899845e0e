package storetest

import (
	"context"
	"testing"

	"keystage.dev/keystage/directory"
)

// testPendingPasswords: one password waits per account and downstream (a
// newer one replaces it), failures are counted, a push deletes it, and a
// purge takes it with the account.
func testPendingPasswords(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("25zoconnor", "MIS001"))
	b := mustCreate(t, s, pupil("25bsmith", "MIS002"))
	put := func(p directory.PendingPassword) directory.PendingPassword {
		t.Helper()
		update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.PutPendingPassword(ctx, &p) })
		if p.ID == 0 || p.CreatedAt.IsZero() {
			t.Fatalf("put pending password: id %d, created %v", p.ID, p.CreatedAt)
		}
		return p
	}
	put(directory.PendingPassword{Downstream: "ad", AccountID: a.ID, Sealed: "old", KeyID: "k1", MustChange: true})
	newer := put(directory.PendingPassword{Downstream: "ad", AccountID: a.ID, Sealed: "new", KeyID: "k2"})
	other := put(directory.PendingPassword{Downstream: "ad", AccountID: b.ID, Sealed: "b", KeyID: "k2", MustChange: true})
	put(directory.PendingPassword{Downstream: "entra", AccountID: a.ID, Sealed: "elsewhere", KeyID: "k2"})

	got, err := s.PendingPasswords(ctx, "ad", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != newer.ID || got[0].Sealed != "new" || got[0].KeyID != "k2" || got[0].MustChange ||
		got[1].ID != other.ID || !got[1].MustChange || got[1].AccountID != b.ID {
		t.Fatalf("pending for ad = %+v", got)
	}
	if one, err := s.PendingPasswords(ctx, "ad", 1); err != nil || len(one) != 1 {
		t.Fatalf("limit 1: %v, %v", one, err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		return tx.NotePendingPasswordFailure(ctx, other.ID, "ldap: server down")
	})
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		return tx.NotePendingPasswordFailure(ctx, other.ID, "ldap: constraint violation")
	})
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeletePendingPassword(ctx, newer.ID) })
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeletePendingPassword(ctx, newer.ID) })
	got, err = s.PendingPasswords(ctx, "ad", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != other.ID || got[0].Attempts != 2 || got[0].LastError != "ldap: constraint violation" {
		t.Fatalf("after push and failures = %+v", got)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, a.ID) })
	if got, err := s.PendingPasswords(ctx, "entra", 0); err != nil || len(got) != 0 {
		t.Fatalf("a purged account's pending password stayed: %+v, %v", got, err)
	}
}
