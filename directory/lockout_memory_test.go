package directory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

// recordingStore counts the calls a sign-in makes on the lockout's and the
// last use's records, and can be made to fail the refresh's read.
type recordingStore struct {
	directory.Store
	mu         sync.Mutex
	calls      map[string]int
	failRecent atomic.Bool
}

func (s *recordingStore) note(name string) {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[name]++
	s.mu.Unlock()
}

func (s *recordingStore) take() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func (s *recordingStore) Failures(ctx context.Context, key string, t time.Time, w time.Duration) (int, time.Time, error) {
	s.note("Failures")
	return s.Store.Failures(ctx, key, t, w)
}

func (s *recordingStore) Familiar(ctx context.Context, id int64, src string) (time.Time, error) {
	s.note("Familiar")
	return s.Store.Familiar(ctx, id, src)
}

func (s *recordingStore) NoteUse(ctx context.Context, id int64, svc directory.Service, t time.Time) error {
	s.note("NoteUse")
	return s.Store.NoteUse(ctx, id, svc, t)
}

func (s *recordingStore) RecentFailures(ctx context.Context, since time.Time, minCount, limit int) ([]directory.FailureCounter, error) {
	s.note("RecentFailures")
	if s.failRecent.Load() {
		return nil, errors.New("database away")
	}
	return s.Store.RecentFailures(ctx, since, minCount, limit)
}

// runRecords runs d's records until the test ends, once they are read.
func runRecords(t *testing.T, d *directory.Directory, s *recordingStore) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.RunRecords(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		n := s.calls["RecentFailures"]
		s.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lockout never read its counters")
		}
	}
	time.Sleep(10 * time.Millisecond) // past the refresh's own write
	return stop
}

func realClockDirectory(f *fixture, s directory.Store, lo directory.Lockout) *directory.Directory {
	return directory.New(s, directory.Config{Hasher: f.d.Hasher(), Now: time.Now, Lockout: lo})
}

// TestLockoutInMemoryAsksStoreNothing: while the records run, a good
// sign-in from a familiar source reads and writes none of the lockout's
// records nor the last use on its way; failures lock as before, reach the
// store in a batch, and the last use is written when the records stop.
func TestLockoutInMemoryAsksStoreNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("teacher"), goodPassword)
	rs := &recordingStore{Store: f.s}
	d := realClockDirectory(f, rs, directory.Lockout{})
	stop := runRecords(t, d, rs)
	home := ldapFrom("10.1.1.5")
	if _, err := d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home); err != nil {
		t.Fatal(err)
	}
	rs.take()
	for range 10 {
		if _, err := d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home); err != nil {
			t.Fatal(err)
		}
	}
	calls := rs.take()
	for _, name := range []string{"Failures", "Familiar", "NoteUse"} {
		if calls[name] > 0 {
			t.Errorf("10 good sign-ins called %s %d times: want none on the request's way", name, calls[name])
		}
	}
	for i := range 5 {
		d.Authenticate(ctx, "teacher", fmt.Sprintf("guess-%d", i), directory.ServiceLDAP, home)
	}
	if _, err := d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home); refusal(err) != directory.ReasonLockedOut {
		t.Fatalf("after 5 wrong passwords: %v, want %s", err, directory.ReasonLockedOut)
	}
	waitFor(t, "the failures written to the store", func() bool {
		n, _, err := f.s.Failures(ctx, directory.AccountKey("teacher"), time.Now(), time.Hour)
		return err == nil && n == 5
	})
	stop()
	uses, err := f.s.LastUse(ctx, a.ID)
	if err != nil || uses[directory.ServiceLDAP].IsZero() {
		t.Errorf("last use after the records stopped: %v %v, want the LDAP sign-in", uses, err)
	}
	if seen, err := f.s.Familiar(ctx, a.ID, home.ID); err != nil || seen.IsZero() {
		t.Errorf("the familiar source in the store: %v %v", seen, err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
	}
}

// TestLockoutInMemorySharedAcrossNodes: failures counted on one node lock
// the account on another within the stated bound (LockoutFlushEvery +
// LockoutRefreshEvery, inside the 3 s of several-nodes.md).
func TestLockoutInMemorySharedAcrossNodes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("teacher"), goodPassword)
	rsA, rsB := &recordingStore{Store: f.s}, &recordingStore{Store: f.s}
	nodeA, nodeB := realClockDirectory(f, rsA, directory.Lockout{}), realClockDirectory(f, rsB, directory.Lockout{})
	runRecords(t, nodeA, rsA)
	runRecords(t, nodeB, rsB)
	home := ldapFrom("10.1.1.5")
	for _, d := range []*directory.Directory{nodeA, nodeB} {
		if _, err := d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, home); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		nodeA.Authenticate(ctx, "teacher", fmt.Sprintf("guess-%d", i), directory.ServiceLDAP, home)
	}
	began := time.Now()
	for {
		att, err := nodeB.Lockout().Begin(ctx, a, "teacher", home, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if att.Locked() {
			break
		}
		if time.Since(began) > directory.LockoutFreshFor {
			t.Fatalf("node B still lets the teacher try %v after node A locked them", directory.LockoutFreshFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("node B refused %v after node A's fifth failure", time.Since(began).Round(time.Millisecond))
}

// TestLockoutInMemoryFailsClosed: with the records in memory, failures the
// store cannot take are kept in memory and still lock, and sign-ins are
// refused once memory is full; counters that could not be read for longer
// than LockoutFreshFor are read from the store on each sign-in.
func TestLockoutInMemoryFailsClosed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, staff("teacher"), goodPassword)
	rs := &recordingStore{Store: failingStore{f.s}}
	d := realClockDirectory(f, rs, directory.Lockout{MemoryLimit: 20})
	runRecords(t, d, rs)
	src := ldapFrom("10.9.9.9")
	for i := range 5 {
		d.Authenticate(ctx, "teacher", fmt.Sprintf("guess-%d", i), directory.ServiceLDAP, src)
	}
	time.Sleep(2 * directory.LockoutFlushEvery) // a flush that fails
	if _, err := d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, src); refusal(err) == "" {
		t.Fatalf("failures the store could not write were not counted: %v", err)
	}
	for i := range 30 {
		d.Authenticate(ctx, "nobody", "x", directory.ServiceLDAP, ldapFrom(fmt.Sprintf("10.8.0.%d", i)))
	}
	if _, err := d.Authenticate(ctx, "teacher", goodPassword, directory.ServiceLDAP, ldapFrom("10.1.1.5")); !errors.Is(err, directory.ErrCannotCount) {
		t.Fatalf("with nowhere to count: %v, want %v", err, directory.ErrCannotCount)
	}

	// Counters that cannot be read are not trusted past LockoutFreshFor.
	g := newFixture(t)
	g.account(t, staff("head"), goodPassword)
	rs2 := &recordingStore{Store: g.s}
	d2 := realClockDirectory(g, rs2, directory.Lockout{})
	runRecords(t, d2, rs2)
	rs2.failRecent.Store(true)
	directory.SetLockoutWall(d2.Lockout(), func() time.Time { return time.Now().Add(directory.LockoutFreshFor) })
	rs2.take()
	if _, err := d2.Authenticate(ctx, "head", goodPassword, directory.ServiceLDAP, ldapFrom("10.1.1.6")); err != nil {
		t.Fatal(err)
	}
	if calls := rs2.take(); calls["Failures"] == 0 {
		t.Errorf("stale counters: the sign-in read the store %v, want its counters read", calls)
	}
}
