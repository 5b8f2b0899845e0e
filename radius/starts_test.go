package radius_test

import (
	"context"
	"sync"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// fakeClock is a directory clock that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// A suspension made to start later ends live sessions at its start,
// though nothing is written then: the server keeps the starts to come.
func TestSuspensionStartingLaterDisconnects(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	srv := radiustest.New(t, radiustest.Options{Now: clock.Now, Config: radius.Config{AuditPoll: 20 * time.Millisecond}})
	srv.AddUser(t, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce"})
	other := srv.AddUser(t, radiustest.User{Username: "al.other", WiFi: "p2mqx-3tazr-9p4ce"})
	fake := newFakeNAS(t, layeh.CodeDisconnectACK)
	a := pointNAS(t, srv, fake)
	ctx := context.Background()
	if err := srv.Store.PutSession(ctx, &directory.Session{AccountID: other.ID, Username: other.Username, NASName: "test-nas",
		NASAddress: "127.0.0.1", SessionID: "S-43", StartedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Another process (a CLI command) suspends: the server hears of it
	// only through the audit trail.
	d := directory.New(srv.Store, directory.Config{Now: clock.Now})
	if _, err := d.Suspend(ctx, "dsl", a, directory.Suspension{From: clock.Now().Add(time.Hour), Until: clock.Now().Add(3 * time.Hour), Reason: "later"}); err != nil {
		t.Fatal(err)
	}
	// Suspending someone else now, after, shows when the server has read
	// the first suspension from the trail: the trail is read in order.
	if _, err := d.Suspend(ctx, "dsl", other, directory.Suspension{Reason: "now"}); err != nil {
		t.Fatal(err)
	}
	wantDisconnect := func(user string) {
		t.Helper()
		select {
		case p := <-fake.got:
			if got := rfc2865.UserName_GetString(p); got != user {
				t.Fatalf("Disconnect-Request for %s, want %s", got, user)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no Disconnect-Request for %s", user)
		}
	}
	wantDisconnect(other.Username)
	// Both suspensions are on the trail now; only the clock has to move.
	clock.Add(61 * time.Minute)
	wantDisconnect(a.Username)
	select {
	case p := <-fake.got:
		t.Errorf("a further Disconnect-Request for %s", rfc2865.UserName_GetString(p))
	default:
	}
}
