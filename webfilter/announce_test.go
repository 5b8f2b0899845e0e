package webfilter

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"keystage.dev/keystage/directory"
)

// A person's own bind from a desktop announces them at its address, with
// their groups, until the lifetime passes without another bind; a service
// account, an application server's address and an excluded account are
// never announced.
func TestLDAPBindAnnouncement(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	dir := fakeDir{groups: map[int64][]string{1: {"pupils", "year-7"}, 2: {"staff"}}}
	ann := Announce{Enabled: true, Lifetime: time.Hour, Exclude: []netip.Prefix{netip.MustParsePrefix("10.0.9.0/24")},
		ExcludeUsers: []string{"kiosk"},
		Policy: func(gs []string) (string, string) {
			if strings.Contains(fmt.Sprint(gs), "pupils") {
				return "pupils-filtered", "pupil"
			}
			return "", ""
		}}
	f, rcv := newTestForwarder(t, ann, dir, clock)
	run(t, f)
	ctx := context.Background()
	pupil := directory.Account{ID: 1, Username: "apupil", Role: directory.RolePupil}
	f.Bound(ctx, directory.Account{ID: 3, Username: "moodle", Role: directory.RoleService}, "10.0.5.1")
	f.Bound(ctx, pupil, "10.0.9.20") // the terminal server
	f.Bound(ctx, directory.Account{ID: 4, Username: "kiosk", Role: directory.RoleStaff}, "10.0.5.2")
	f.Bound(ctx, pupil, "127.0.0.1")
	f.Bound(ctx, pupil, "10.0.5.7")
	waitFor(t, "the pupil's Start", func() bool { return len(rcv.packets()) == 1 })
	p := rcv.packets()[0]
	if rfc2866.AcctStatusType_Get(p) != rfc2866.AcctStatusType_Value_Start || rfc2865.UserName_GetString(p) != "apupil" ||
		rfc2865.FramedIPAddress_Get(p).String() != "10.0.5.7" || rfc2865.FilterID_GetString(p) != "pupils-filtered" || rfc2865.Class_GetString(p) != "pupil" {
		t.Errorf("announcement: %v", p.Attributes)
	}
	if e, ok := f.ann.at("10.0.5.7", clock.Now()); !ok || e.Username != "apupil" || fmt.Sprint(e.Groups) != "[pupils year-7]" {
		t.Errorf("live announcement: %+v %v", e, ok)
	}

	// Another person signs in at the same desktop: the first is stopped.
	clock.Add(10 * time.Minute)
	f.Bound(ctx, directory.Account{ID: 2, Username: "jteacher", Role: directory.RoleStaff}, "10.0.5.7")
	waitFor(t, "the hand-over", func() bool { return len(rcv.packets()) == 3 })
	got := rcv.packets()
	if rfc2866.AcctStatusType_Get(got[1]) != rfc2866.AcctStatusType_Value_Stop || rfc2865.UserName_GetString(got[1]) != "apupil" ||
		rfc2866.AcctStatusType_Get(got[2]) != rfc2866.AcctStatusType_Value_Start || rfc2865.UserName_GetString(got[2]) != "jteacher" {
		t.Errorf("hand-over: %v / %v", got[1].Attributes, got[2].Attributes)
	}

	// No bind for the lifetime: stopped.
	now := clock.Add(59 * time.Minute)
	f.ann.expire(now)
	if _, ok := f.ann.at("10.0.5.7", now); !ok {
		t.Error("expired before its lifetime")
	}
	now = clock.Add(2 * time.Minute)
	f.ann.expire(now)
	waitFor(t, "the expiry's Stop", func() bool { return len(rcv.packets()) == 4 })
	if p := rcv.packets()[3]; rfc2866.AcctStatusType_Get(p) != rfc2866.AcctStatusType_Value_Stop || rfc2865.UserName_GetString(p) != "jteacher" ||
		rfc2866.AcctTerminateCause_Get(p) != rfc2866.AcctTerminateCause_Value_SessionTimeout {
		t.Errorf("expiry: %v", p.Attributes)
	}
	if _, ok := f.ann.at("10.0.5.7", now); ok {
		t.Error("still announced after its lifetime")
	}
}

// Off by default: binds announce nothing.
func TestLDAPBindAnnouncementOff(t *testing.T) {
	f, rcv := newTestForwarder(t, Announce{}, fakeDir{}, &fakeClock{t: time.Now()})
	run(t, f)
	f.Bound(context.Background(), directory.Account{ID: 1, Username: "apupil", Role: directory.RolePupil}, "10.0.5.7")
	f.Enqueue(pupilStart(1)) // a marker: once it is heard, the bind would have been
	waitFor(t, "the marker", func() bool { return len(rcv.packets()) >= 1 })
	time.Sleep(50 * time.Millisecond)
	if got := rcv.sessions(); len(got) != 1 {
		t.Errorf("heard %v", got)
	}
}

// A suspension or a leaver stops their announcements at once.
func TestAccessEndedStopsAnnouncement(t *testing.T) {
	f, rcv := newTestForwarder(t, Announce{Enabled: true}, fakeDir{}, &fakeClock{t: time.Now()})
	run(t, f)
	a := directory.Account{ID: 1, Username: "apupil", Role: directory.RolePupil}
	f.Bound(context.Background(), a, "10.0.5.7")
	waitFor(t, "the Start", func() bool { return len(rcv.packets()) == 1 })
	f.AccessEnded(context.Background(), a)
	waitFor(t, "the Stop", func() bool { return len(rcv.packets()) == 2 })
	if p := rcv.packets()[1]; rfc2866.AcctStatusType_Get(p) != rfc2866.AcctStatusType_Value_Stop ||
		rfc2866.AcctTerminateCause_Get(p) != rfc2866.AcctTerminateCause_Value_AdminReset {
		t.Errorf("stop: %v", p.Attributes)
	}
}

// An address that no one listed but from which many people bind (an
// application or terminal server) stops being announced, with a log line
// saying what to do, and stays unannounced.
func TestSharedAddressNotAnnounced(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	f, rcv := newTestForwarder(t, Announce{Enabled: true, Lifetime: time.Hour}, fakeDir{}, clock)
	run(t, f)
	ctx := context.Background()
	for i := range 3 {
		f.Bound(ctx, directory.Account{ID: int64(i + 1), Username: fmt.Sprintf("pupil%d", i), Role: directory.RolePupil}, "10.0.7.7")
		clock.Add(time.Minute)
	}
	// Three people: a Start, then a hand-over Stop and Start twice.
	waitFor(t, "three people in turn", func() bool { return len(rcv.packets()) == 5 })
	f.Bound(ctx, directory.Account{ID: 4, Username: "pupil3", Role: directory.RolePupil}, "10.0.7.7")
	waitFor(t, "the Stop of the shared address", func() bool { return len(rcv.packets()) == 6 })
	if p := rcv.packets()[5]; rfc2866.AcctStatusType_Get(p) != rfc2866.AcctStatusType_Value_Stop || rfc2865.UserName_GetString(p) != "pupil2" {
		t.Errorf("last: %v", p.Attributes)
	}
	clock.Add(time.Hour)
	f.Bound(ctx, directory.Account{ID: 1, Username: "pupil0", Role: directory.RolePupil}, "10.0.7.7")
	// A bind from a desktop elsewhere, as a marker that the one before was handled.
	f.Bound(ctx, directory.Account{ID: 5, Username: "pupil5", Role: directory.RolePupil}, "10.0.5.5")
	waitFor(t, "the marker", func() bool { return len(rcv.packets()) == 7 })
	if p := rcv.packets()[6]; rfc2865.UserName_GetString(p) != "pupil5" {
		t.Errorf("the shared address was announced again: %v", p.Attributes)
	}
	if _, ok := f.ann.at("10.0.7.7", clock.Now()); ok {
		t.Error("shared address announced")
	}
}
