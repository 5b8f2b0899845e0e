package storetest

import (
	"context"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// testFactsBetween: the reads of a range of accounts' facts give, for each
// account in the range and none outside it, exactly what the reads of one
// account give, in the same order (directory.View loads from them).
func testFactsBetween(t *testing.T, s directory.Store) {
	fr, ok := s.(directory.FactsReader)
	if !ok {
		t.Skip("the store reads no ranges of facts")
	}
	ctx := context.Background()
	a := mustCreate(t, s, pupil("range1", "R1"))
	b := mustCreate(t, s, pupil("range2", "R2"))
	c := mustCreate(t, s, pupil("range3", "R3"))
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		g := directory.Group{Name: "rangers", Kind: directory.GroupRole}
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return err
		}
		for _, x := range []directory.Account{a, b, c} {
			for _, k := range []directory.CredentialKind{directory.CredPassword, directory.CredWiFi, directory.CredPasskey} {
				if err := tx.AddCredential(ctx, &directory.Credential{AccountID: x.ID, Kind: k, Secret: "s-" + string(k), CreatedAt: at}); err != nil {
					return err
				}
			}
			if err := tx.AddSuspension(ctx, &directory.Suspension{AccountID: x.ID, From: at, Reason: "r", CreatedBy: "t"}); err != nil {
				return err
			}
			if err := tx.AddConsent(ctx, &directory.Consent{AccountID: x.ID, ParentName: "P", Relationship: "mother", GivenAt: at, Method: directory.SignPaper}); err != nil {
				return err
			}
			for _, dev := range []string{"aa-bb-cc-dd-ee-02", "aa-bb-cc-dd-ee-01"} {
				if err := tx.AddApproval(ctx, &directory.Approval{AccountID: x.ID, Kind: directory.ApprovalDevice, Device: dev, Reason: "r",
					ApprovedBy: "head", RecordedBy: "t", CreatedAt: at, Until: at.AddDate(0, 1, 0)}); err != nil {
					return err
				}
			}
			if x.ID != b.ID {
				if err := tx.AddMember(ctx, g.ID, x.ID); err != nil {
					return err
				}
			}
		}
		// A second password, so that the order within an account shows.
		return tx.AddCredential(ctx, &directory.Credential{AccountID: b.ID, Kind: directory.CredPassword, Secret: "newer", CreatedAt: at.Add(time.Hour)})
	})
	creds, err := fr.CredentialsBetween(ctx, a.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	susp, err := fr.SuspensionsBetween(ctx, a.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := fr.ConsentsBetween(ctx, a.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	apps, err := fr.ApprovalsBetween(ctx, a.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	mems, err := fr.MembershipsBetween(ctx, a.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []directory.Account{b, c} {
		var wantCreds []directory.Credential
		for _, k := range []directory.CredentialKind{directory.CredPassword, directory.CredWiFi, directory.CredPasskey} {
			cs, err := s.Credentials(ctx, x.ID, k)
			if err != nil {
				t.Fatal(err)
			}
			wantCreds = append(wantCreds, cs...)
		}
		sort.Slice(wantCreds, func(i, j int) bool { return wantCreds[i].ID > wantCreds[j].ID })
		if got := only(creds, x.ID, func(c directory.Credential) int64 { return c.AccountID }); !reflect.DeepEqual(got, wantCreds) {
			t.Errorf("credentials of %s: range read %+v, one account's %+v", x.Username, got, wantCreds)
		}
		wantSusp, _ := s.Suspensions(ctx, x.ID)
		if got := only(susp, x.ID, func(s directory.Suspension) int64 { return s.AccountID }); !reflect.DeepEqual(got, wantSusp) {
			t.Errorf("suspensions of %s: range read %+v, one account's %+v", x.Username, got, wantSusp)
		}
		wantCons, _ := s.Consents(ctx, x.ID)
		if got := only(cons, x.ID, func(c directory.Consent) int64 { return c.AccountID }); !reflect.DeepEqual(got, wantCons) {
			t.Errorf("consents of %s: range read %+v, one account's %+v", x.Username, got, wantCons)
		}
		wantApps, _ := s.Approvals(ctx, x.ID)
		if got := only(apps, x.ID, func(a directory.Approval) int64 { return a.AccountID }); len(wantApps) != 2 || !reflect.DeepEqual(got, wantApps) {
			t.Errorf("approvals of %s: range read %+v, one account's %+v", x.Username, got, wantApps)
		}
	}
	for _, list := range [][]int64{ids(creds, func(c directory.Credential) int64 { return c.AccountID }),
		ids(susp, func(s directory.Suspension) int64 { return s.AccountID }),
		ids(cons, func(c directory.Consent) int64 { return c.AccountID }),
		ids(apps, func(a directory.Approval) int64 { return a.AccountID }),
		ids(mems, func(m directory.Membership) int64 { return m.AccountID })} {
		for _, id := range list {
			if id == a.ID {
				t.Errorf("a range after account %d holds it", a.ID)
			}
		}
	}
	if len(mems) != 1 || mems[0].AccountID != c.ID {
		t.Errorf("memberships of accounts %d to %d: %+v, want the third's alone", b.ID, c.ID, mems)
	}
}

func only[T any](xs []T, id int64, of func(T) int64) []T {
	var out []T
	for _, x := range xs {
		if of(x) == id {
			out = append(out, x)
		}
	}
	return out
}

func ids[T any](xs []T, of func(T) int64) []int64 {
	var out []int64
	for _, x := range xs {
		out = append(out, of(x))
	}
	return out
}

// testCaughtUp: once CaughtUp passes a time, every change committed before
// it has been told to Watch.
func testCaughtUp(t *testing.T, s directory.Store) {
	w, ok := s.(directory.Watcher)
	cu, ok2 := s.(directory.CaughtUpper)
	if !ok || !ok2 {
		t.Skip("the store cannot say how far it has told")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	heard := map[string]bool{}
	if err := w.Watch(ctx, func(targets []string) {
		mu.Lock()
		for _, x := range targets {
			heard[x] = true
		}
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.change", Target: "account:caught"})
	}); err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	for deadline := time.Now().Add(10 * time.Second); !cu.CaughtUp().After(committed); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("CaughtUp %v never passed a commit at %v", cu.CaughtUp(), committed)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !heard["account:caught"] {
		t.Errorf("caught up past a commit whose target was not told: heard %v", heard)
	}
}
