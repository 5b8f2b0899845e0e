package directory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// TestDashboardOfSchool: the failed sign-ins a school's dashboard counts
// are its people's (the lockout's event names the account's schools, the
// dual registration's too), its locks are its people's, and its accounts
// are its scope's; the trust's dashboard counts everyone.
func TestDashboardOfSchool(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, directory.Account{Username: "np", Role: directory.RolePupil, GivenName: "N", FamilyName: "P", School: "north"}, "Kestrel-Harbour-47")
	f.account(t, directory.Account{Username: "sp", Role: directory.RolePupil, GivenName: "S", FamilyName: "P", School: "south"}, "Kestrel-Harbour-48")
	f.account(t, directory.Account{Username: "dp", Role: directory.RolePupil, GivenName: "D", FamilyName: "P", School: "south", AlsoSchools: []string{"north"}}, "Kestrel-Harbour-49")
	f.d.Authenticate(ctx, "np", "wrong", directory.ServiceLDAP, directory.Origin{ID: "ldap:192.0.2.1"})
	f.d.Authenticate(ctx, "dp", "wrong", directory.ServiceWiFi, directory.Origin{ID: "radius:aa@ap"})
	for i := range 5 {
		f.d.Authenticate(ctx, "sp", fmt.Sprint("wrong", i), directory.ServiceWiFi, directory.Origin{ID: "radius:bb@ap"})
	}
	f.d.Lockout().Flush(ctx, f.now)
	evs, err := f.s.AuditEventsByAction(ctx, string(audit.ActionSigninFailures), f.now.Add(-1), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Target == "account:dp" && !strings.Contains(string(e.After), `"schools":["south","north"]`) {
			t.Errorf("dp's failures do not name its schools: %s", e.After)
		}
	}

	north, err := f.d.DashboardOf(ctx, directory.ReviewPolicy{}, directory.SchoolScope{School: "north"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(north.Failures); got != "[{ldap 1} {radius 1}]" {
		t.Errorf("north's failures %s", got)
	}
	if len(north.Blocks) != 0 {
		t.Errorf("north sees south's locks: %+v", north.Blocks)
	}
	if got := fmt.Sprint(north.Accounts); got != "[{pupil active 2}]" {
		t.Errorf("north's accounts %s", got)
	}
	south, err := f.d.DashboardOf(ctx, directory.ReviewPolicy{}, directory.SchoolScope{School: "south"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(south.Failures); got != "[{radius 6}]" || len(south.Blocks) != 1 || south.Blocks[0].Subject != "sp" {
		t.Errorf("south's failures %s, locks %+v", got, south.Blocks)
	}
	trust, err := f.d.Dashboard(ctx, directory.ReviewPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(trust.Failures); got != "[{ldap 1} {radius 6}]" || len(trust.Blocks) != 1 {
		t.Errorf("the trust's failures %s, locks %+v", got, trust.Blocks)
	}
}
