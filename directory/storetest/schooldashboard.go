package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

// testSchoolDashboardCounts: a school's counts are its own accounts and
// those dual-registered there, never another school's (nor a school whose
// id only contains its own: "northern" is not "north"); TrustScope counts
// the trust's own.
func testSchoolDashboardCounts(t *testing.T, s directory.Store) {
	ctx := context.Background()
	at := func(a directory.Account, school string, also ...string) directory.Account {
		a.School, a.AlsoSchools = school, also
		return mustCreate(t, s, a)
	}
	consented := at(pupil("n1", "N1"), "north")
	at(pupil("n2", "N2"), "north")
	at(pupil("dual", "D1"), "south", "north")
	at(pupil("s1", "S1"), "south")
	at(pupil("nn1", "X1"), "northern", "snorth")
	at(directory.Account{Username: "nteacher", Role: directory.RoleStaff, Source: directory.SourceManual}, "north")
	at(directory.Account{Username: "cfo", Role: directory.RoleStaff, Source: directory.SourceManual}, "")
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		return tx.AddConsent(ctx, &directory.Consent{AccountID: consented.ID, ParentName: "P",
			GivenAt: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), Method: directory.SignPaper})
	})
	for _, c := range []struct {
		school  string
		counts  string
		missing int
	}{
		{"north", "[{pupil active 3} {staff active 1}]", 2},
		{"south", "[{pupil active 2}]", 2},
		{"northern", "[{pupil active 1}]", 1},
		{"east", "[]", 0},
		{directory.TrustScope, "[{staff active 1}]", 0},
	} {
		got, err := s.SchoolAccountCounts(ctx, c.school)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != c.counts && !(c.counts == "[]" && len(got) == 0) {
			t.Errorf("%s: account counts %v, want %s", c.school, got, c.counts)
		}
		if n, err := s.SchoolMissingConsents(ctx, c.school); err != nil || n != c.missing {
			t.Errorf("%s: missing consents %d %v, want %d", c.school, n, err, c.missing)
		}
	}
}
