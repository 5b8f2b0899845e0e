package webfilter

import (
	"context"
	"slices"
	"testing"
	"time"

	"layeh.com/radius/rfc2865"

	"keystage.dev/keystage/directory"
)

// suspDir is fakeDir with suspensions.
type suspDir struct {
	fakeDir
	sus map[int64][]directory.Suspension
}

func (d suspDir) Suspensions(_ context.Context, id int64) ([]directory.Suspension, error) {
	return d.sus[id], nil
}

// A pupil whose internet is suspended may still sign in at a desktop
// (LDAP); the announcement marks them, so that the filter's policy takes
// the internet away there. A suspension of the Wi-Fi only leaves no mark.
func TestAnnouncementMarksInternetSuspended(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	from := clock.t.Add(-time.Hour)
	dir := suspDir{fakeDir: fakeDir{groups: map[int64][]string{1: {"pupils"}, 2: {"pupils"}}}, sus: map[int64][]directory.Suspension{
		1: {{AccountID: 1, From: from, Scope: directory.SuspendInternet, Reason: "r"}},
		2: {{AccountID: 2, From: from, Scope: directory.SuspendService(directory.ServiceWiFi), Reason: "r"}},
	}}
	ann := Announce{Enabled: true, Lifetime: time.Hour, Policy: func(gs []string) (string, string) {
		if slices.Contains(gs, InternetSuspendedGroup) {
			return "no-internet", ""
		}
		return "pupils-filtered", ""
	}}
	f, rcv := newTestForwarder(t, ann, dir, clock)
	run(t, f)
	ctx := context.Background()
	f.Bound(ctx, directory.Account{ID: 1, Username: "suspended", Role: directory.RolePupil}, "10.0.5.7")
	f.Bound(ctx, directory.Account{ID: 2, Username: "wifionly", Role: directory.RolePupil}, "10.0.5.8")
	waitFor(t, "two Starts", func() bool { return len(rcv.packets()) == 2 })
	got := map[string]string{}
	for _, p := range rcv.packets() {
		got[rfc2865.UserName_GetString(p)] = rfc2865.FilterID_GetString(p)
	}
	if got["suspended"] != "no-internet" || got["wifionly"] != "pupils-filtered" {
		t.Errorf("Filter-Ids: %v", got)
	}
	if e, ok := f.ann.at("10.0.5.7", clock.Now()); !ok || !slices.Contains(e.Groups, InternetSuspendedGroup) {
		t.Errorf("the announcement does not carry the mark: %+v", e)
	}
	if e, ok := f.ann.at("10.0.5.8", clock.Now()); !ok || slices.Contains(e.Groups, InternetSuspendedGroup) {
		t.Errorf("a Wi-Fi-only suspension marked: %+v", e)
	}
}
