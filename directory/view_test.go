package directory_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/passwords"
)

// countedStore counts the reads the gate makes of the store under a view,
// and can hold the change feed back.
type countedStore struct {
	*sqlstore.Store
	reads atomic.Int64

	mu     sync.Mutex
	held   bool
	frozen time.Time
	queue  [][]string
}

func (s *countedStore) AccountByUsername(ctx context.Context, name string) (directory.Account, error) {
	s.reads.Add(1)
	return s.Store.AccountByUsername(ctx, name)
}

func (s *countedStore) Suspensions(ctx context.Context, id int64) ([]directory.Suspension, error) {
	s.reads.Add(1)
	return s.Store.Suspensions(ctx, id)
}

func (s *countedStore) Signatures(ctx context.Context, id int64) ([]directory.Signature, error) {
	s.reads.Add(1)
	return s.Store.Signatures(ctx, id)
}

func (s *countedStore) Consents(ctx context.Context, id int64) ([]directory.Consent, error) {
	s.reads.Add(1)
	return s.Store.Consents(ctx, id)
}

func (s *countedStore) Credentials(ctx context.Context, id int64, k directory.CredentialKind) ([]directory.Credential, error) {
	s.reads.Add(1)
	return s.Store.Credentials(ctx, id, k)
}

func (s *countedStore) Approvals(ctx context.Context, id int64) ([]directory.Approval, error) {
	s.reads.Add(1)
	return s.Store.Approvals(ctx, id)
}

func (s *countedStore) Watch(ctx context.Context, fn func([]string)) error {
	return s.Store.Watch(ctx, func(targets []string) {
		s.mu.Lock()
		if s.held {
			s.queue = append(s.queue, targets)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		fn(targets)
	})
}

// CaughtUp stops where the feed was held.
func (s *countedStore) CaughtUp() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		return s.frozen
	}
	return s.Store.CaughtUp()
}

func (s *countedStore) hold() {
	s.mu.Lock()
	s.held, s.frozen = true, s.Store.CaughtUp()
	s.mu.Unlock()
}

// viewFixture is a store on a file with a view in front of it and a
// directory on the view, and a second store on the same file: another
// process (a command beside keystage serve).
type viewFixture struct {
	store *countedStore
	other *directory.Directory
	view  *directory.View
	d     *directory.Directory
}

func newViewFixture(t *testing.T) *viewFixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	open := func() *sqlstore.Store {
		s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	h := &passwords.Hasher{Params: passwords.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}
	f := &viewFixture{store: &countedStore{Store: open()}}
	f.other = directory.New(open(), directory.Config{Hasher: h})
	for _, name := range []string{"teacher", "head"} {
		a := staff(name)
		if err := f.other.CreateAccount(ctx, "test", &a, nil); err != nil {
			t.Fatal(err)
		}
		if err := f.other.SetPassword(ctx, "test", a, goodPassword); err != nil {
			t.Fatal(err)
		}
	}
	f.view = directory.NewView(f.store, nil)
	f.d = directory.New(f.view, directory.Config{Hasher: h})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.view.Run(rctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the view loaded and caught up", f.view.Fresh)
	return f
}

func (f *viewFixture) allowed(t *testing.T, name string) bool {
	t.Helper()
	ctx := context.Background()
	a, err := f.d.Store().AccountByUsername(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := f.d.Gate().Check(ctx, a, directory.ServiceLDAP, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return dec.Allow
}

// TestViewAnswersFromMemory: once loaded, the gate's reads of an account
// are answered without the store.
func TestViewAnswersFromMemory(t *testing.T) {
	f := newViewFixture(t)
	f.store.reads.Store(0)
	for range 10 {
		if !f.allowed(t, "teacher") {
			t.Fatal("teacher refused")
		}
		if _, err := f.d.Authenticate(context.Background(), "head", goodPassword, directory.ServiceLDAP, ldapFrom("10.1.1.5")); err != nil {
			t.Fatal(err)
		}
		// RADIUS's personal-device approvals come from memory too.
		teacher, err := f.d.Store().AccountByUsername(context.Background(), "teacher")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.view.Approvals(context.Background(), teacher.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.store.reads.Load(); n != 0 {
		t.Errorf("%d reads of the store through a fresh view: want none", n)
	}
}

// TestViewRefusesAChangeMadeElsewhereWithinTheBound: a suspension and a
// disable made by another process are refused through the view within the
// 3 s bound, never answered from what they made stale past it.
func TestViewRefusesAChangeMadeElsewhereWithinTheBound(t *testing.T) {
	ctx := context.Background()
	f := newViewFixture(t)
	teacher, err := f.other.Store().AccountByUsername(ctx, "teacher")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.other.Suspend(ctx, "test", teacher, directory.Suspension{From: time.Now().Add(-time.Minute), Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, "suspension", func() bool { return !f.allowed(t, "teacher") })
	if _, _, err := f.other.Disable(ctx, "test", "head", "left"); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, "disable", func() bool {
		_, err := f.d.Authenticate(ctx, "head", goodPassword, directory.ServiceLDAP, ldapFrom("10.1.1.5"))
		return err != nil
	})
}

func refusedWithin(t *testing.T, what string, refused func() bool) {
	t.Helper()
	began := time.Now()
	for !refused() {
		if time.Since(began) > 3*time.Second {
			t.Fatalf("%s made elsewhere still allowed after 3 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s refused %v after it was made", what, time.Since(began).Round(time.Millisecond))
}

// TestViewFailsClosedWhenTheFeedIsHeldBack: with the change feed held back,
// the view stops answering once it is ViewFreshFor behind, and a
// suspension it never heard of is refused from the store.
func TestViewFailsClosedWhenTheFeedIsHeldBack(t *testing.T) {
	ctx := context.Background()
	f := newViewFixture(t)
	f.store.hold()
	teacher, err := f.other.Store().AccountByUsername(ctx, "teacher")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.other.Suspend(ctx, "test", teacher, directory.Suspension{From: time.Now().Add(-time.Minute), Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	f.view.SetWall(func() time.Time { return time.Now().Add(directory.ViewFreshFor) })
	if f.view.Fresh() {
		t.Fatal("the view calls itself fresh with its feed held back past the bound")
	}
	if f.allowed(t, "teacher") {
		t.Fatal("a suspension the held-back view never heard of was allowed")
	}
	for _, read := range []func() error{
		func() error { _, err := f.view.AccountByUID(ctx, teacher.UIDNumber); return err },
		func() error { _, err := f.view.Account(ctx, teacher.ID); return err },
		func() error { _, err := f.view.Suspensions(ctx, teacher.ID); return err },
	} {
		behind := f.view.ReadsBehind()
		if err := read(); err != nil {
			t.Fatal(err)
		}
		if f.view.ReadsBehind() == behind {
			t.Error("a read through the held-back view was not sent to the store")
		}
	}
	if f.store.reads.Load() == 0 {
		t.Error("the stale view read nothing from the store")
	}
}

// TestViewFollowsGroupsMadeElsewhere: a group made and filled by another
// process, and a member taken out, show through the view within the
// bound: memberships are told under the group's target, not the account's.
func TestViewFollowsGroupsMadeElsewhere(t *testing.T) {
	ctx := context.Background()
	f := newViewFixture(t)
	if _, err := f.other.CreateGroup(ctx, "test", directory.Group{Name: "governors", Kind: directory.GroupRole}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.other.AddMembers(ctx, "test", "governors", []string{"teacher", "head"}); err != nil {
		t.Fatal(err)
	}
	teacher, _ := f.other.Store().AccountByUsername(ctx, "teacher")
	inGroup := func() bool {
		gs, err := f.view.GroupsOf(ctx, teacher.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(gs) == 1 && gs[0].Name == "governors"
	}
	refusedWithin(t, "membership", inGroup) // "refused" reads "seen" here
	g, err := f.view.GroupByName(ctx, "governors")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.other.RemoveMembers(ctx, "test", "governors", []string{"teacher"}); err != nil {
		t.Fatal(err)
	}
	refusedWithin(t, "removal", func() bool {
		ms, err := f.view.Members(ctx, g.ID)
		return err == nil && len(ms) == 1 && ms[0] == "head" && !inGroup()
	})
}

// TestViewReadsItsOwnWrites: a change made through the view is refused at
// once, before any feed tells of it (on PostgreSQL the feed tells this
// node's own commits later, through the database).
func TestViewReadsItsOwnWrites(t *testing.T) {
	ctx := context.Background()
	f := newViewFixture(t)
	f.store.hold()
	teacher, err := f.d.Store().AccountByUsername(ctx, "teacher")
	if err != nil {
		t.Fatal(err)
	}
	if !f.allowed(t, "teacher") {
		t.Fatal("teacher refused before the suspension")
	}
	if _, err := f.d.Suspend(ctx, "test", teacher, directory.Suspension{From: time.Now().Add(-time.Minute), Reason: "incident"}); err != nil {
		t.Fatal(err)
	}
	if f.allowed(t, "teacher") {
		t.Fatal("a suspension made through the view was not refused at once")
	}
}

// TestViewReturnsWhatTheStoreReturns: the view answers each read of an
// account's facts with exactly what the store answers.
func TestViewReturnsWhatTheStoreReturns(t *testing.T) {
	ctx := context.Background()
	f := newViewFixture(t)
	teacher, err := f.other.Store().AccountByUsername(ctx, "teacher")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.other.Suspend(ctx, "test", teacher, directory.Suspension{From: time.Now().Add(-time.Minute), Until: time.Now().Add(time.Hour),
		Reason: "incident", IncidentRef: "INC-7"}); err != nil {
		t.Fatal(err)
	}
	s := f.store.Store
	same := func() bool {
		for _, name := range []string{"teacher", "head"} {
			want, err := s.AccountByUsername(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.view.AccountByUsername(ctx, name)
			if err != nil || !reflect.DeepEqual(got, want) {
				return false
			}
			for _, read := range []func(directory.Store) (any, error){
				func(r directory.Store) (any, error) { return r.Account(ctx, want.ID) },
				func(r directory.Store) (any, error) { return r.AccountByUID(ctx, want.UIDNumber) },
				func(r directory.Store) (any, error) { return r.Credentials(ctx, want.ID, directory.CredPassword) },
				func(r directory.Store) (any, error) { return r.Credentials(ctx, want.ID, directory.CredWiFi) },
				func(r directory.Store) (any, error) { return r.Suspensions(ctx, want.ID) },
				func(r directory.Store) (any, error) { return r.Signatures(ctx, want.ID) },
				func(r directory.Store) (any, error) { return r.Consents(ctx, want.ID) },
				func(r directory.Store) (any, error) { return r.Approvals(ctx, want.ID) },
				func(r directory.Store) (any, error) { return r.GroupsOf(ctx, want.ID) },
			} {
				w, err1 := read(s)
				g, err2 := read(f.view)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if !reflect.DeepEqual(g, w) {
					return false
				}
			}
		}
		return true
	}
	refusedWithin(t, "the suspension", same) // "refused" reads "seen" here
	if f.view.ReadsBehind() != 0 || !f.view.Fresh() {
		t.Error("the view did not answer from memory")
	}
}

// TestViewSlabBoundedUnderChurn: accounts renamed, purged and made again,
// round after round, reuse the view's slots: the slab stays as large as
// the most accounts held at once, and the view follows every change.
func TestViewSlabBoundedUnderChurn(t *testing.T) {
	ctx := context.Background()
	f := newViewFixture(t)
	s := f.other.Store()
	g := directory.Group{Name: "churn", Kind: directory.GroupRole}
	rec := func(tx directory.Tx, action audit.Action, target string) error {
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: action, Target: target})
	}
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return err
		}
		return rec(tx, audit.ActionGroupCreate, audit.Target(audit.KindGroup, g.Name))
	}); err != nil {
		t.Fatal(err)
	}
	const each = 20
	start := f.view.Accounts()
	for round := range 8 {
		var ids []int64
		for i := range each {
			name := fmt.Sprintf("p%d-%d", round, i)
			if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
				a := staff(name)
				if err := tx.CreateAccount(ctx, &a); err != nil {
					return err
				}
				ids = append(ids, a.ID)
				if err := tx.AddMember(ctx, g.ID, a.ID); err != nil {
					return err
				}
				if err := rec(tx, audit.ActionAccountCreate, audit.Target(audit.KindAccount, name)); err != nil {
					return err
				}
				return rec(tx, audit.ActionGroupAddMember, audit.Target(audit.KindGroup, g.Name))
			}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the new accounts held", func() bool { return f.view.Accounts() == start+each })
		// Half are renamed, half purged.
		for i, id := range ids {
			name := fmt.Sprintf("p%d-%d", round, i)
			if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
				if i%2 == 0 {
					if _, err := tx.UpdateAccount(ctx, id, func(a *directory.Account) error { a.Username = "r" + name; return nil }); err != nil {
						return err
					}
					if err := rec(tx, audit.ActionAccountUpdate, audit.Target(audit.KindAccount, name)); err != nil {
						return err
					}
					return rec(tx, audit.ActionAccountUpdate, audit.Target(audit.KindAccount, "r"+name))
				}
				if err := tx.DeleteAccount(ctx, id); err != nil {
					return err
				}
				return rec(tx, audit.ActionAccountPurge, audit.Target(audit.KindAccount, name))
			}); err != nil {
				t.Fatal(err)
			}
		}
		renamed := fmt.Sprintf("rp%d-0", round)
		waitFor(t, "the renames and purges followed", func() bool {
			if f.view.Accounts() != start+each/2 {
				return false
			}
			a, err := f.view.AccountByUsername(ctx, renamed)
			if err != nil {
				return false
			}
			gs, err := f.view.GroupsOf(ctx, a.ID)
			ms, err2 := f.view.SharedMembers(ctx, g.ID)
			return err == nil && err2 == nil && len(gs) == 1 && gs[0].Name == g.Name &&
				slices.Contains(ms, renamed) && !slices.Contains(ms, fmt.Sprintf("p%d-0", round)) &&
				!slices.Contains(ms, fmt.Sprintf("p%d-1", round)) && f.view.ReadsBehind() == 0
		})
		// The renamed ones are purged too: the next round makes as many.
		for i, id := range ids {
			if i%2 != 0 {
				continue
			}
			name := fmt.Sprintf("rp%d-%d", round, i)
			if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
				if err := tx.DeleteAccount(ctx, id); err != nil {
					return err
				}
				return rec(tx, audit.ActionAccountPurge, audit.Target(audit.KindAccount, name))
			}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the purges followed", func() bool { return f.view.Accounts() == start })
	}
	if n := directory.ViewSlots(f.view); n > start+each {
		t.Errorf("the slab has %d slots after 8 rounds of %d accounts made, renamed and purged beside %d: want at most %d", n, each, start, start+each)
	}
	if ms, err := f.view.SharedMembers(ctx, g.ID); err != nil || len(ms) != 0 {
		t.Errorf("members of the group after every member was purged: %v %v", ms, err)
	}
}
