package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
)

// school is a secondary of five year groups (7 to 11) of n pupils each,
// and 10 staff, synced.
func school(f *fixture, n int) []lifecycle.Record {
	var all []lifecycle.Record
	for y := 7; y <= 11; y++ {
		for i := 0; i < n; i++ {
			r := pupil(fmt.Sprintf("P%02d%03d", y, i), "Pupil", fmt.Sprintf("Y%dn%d", y, i), fmt.Sprint(y), fmt.Sprintf("%dA", y))
			r.StartDate = date("2022-09-05")
			all = append(all, r)
		}
	}
	for i := 0; i < 10; i++ {
		all = append(all, staff(fmt.Sprintf("S%03d", i), "Staff", fmt.Sprintf("Member%d", i)))
	}
	f.sync(bulk(all...))
	return all
}

// TestYearEndCohortIsNotAMassChange: Year 11 leaving whole at the end of
// the school year (a fifth of the school) is the expected cohort change,
// not refused; the leavers left over are still held to the 5% limit.
func TestYearEndCohortIsNotAMassChange(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{MissingRuns: 1})
		f.now = time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
		all := school(f, 20)
		f.now = time.Date(2026, 7, 24, 7, 0, 0, 0, time.UTC)
		var rest []lifecycle.Record
		for _, r := range all {
			if r.YearGroup == "11" {
				r.LeaveDate = date("2026-07-22")
			}
			rest = append(rest, r)
		}
		p := f.plan(bulk(rest...))
		if p.Blocked != "" {
			t.Fatalf("a whole Year 11 leaving in July was refused: %s", p.Blocked)
		}
		if len(p.Cohorts) != 1 || p.Cohorts[0].Year != "11" || p.Cohorts[0].N != 20 || p.Cohorts[0].Change != lifecycle.CohortLeaving {
			t.Fatalf("cohorts: %+v", p.Cohorts)
		}
		var b strings.Builder
		if err := p.WriteText(&b); err != nil || !strings.Contains(b.String(), "expected cohort change: Year 11 leaving at the end of the school year: 20 of the 20 pupils in Year 11") {
			t.Errorf("plan text:\n%s", b.String())
		}
		// Year 11 and six others (6 of 110, over 5%): the others are refused.
		for i := range rest {
			if rest[i].YearGroup == "8" && strings.HasSuffix(rest[i].FamilyName, "n1") || rest[i].MISID == "P08002" || rest[i].MISID == "P08003" ||
				rest[i].MISID == "P08004" || rest[i].MISID == "P08005" || rest[i].MISID == "P08006" {
				rest[i].LeaveDate = date("2026-07-22")
			}
		}
		p = f.plan(bulk(rest...))
		if !strings.Contains(p.Blocked, "20 of them a year group leaving at the end of the school year, and 6 others") {
			t.Fatalf("the leavers over the cohort are not held to the limit: %q", p.Blocked)
		}
		// A whole younger year group leaving is no cohort: an export mistake.
		var y9 []lifecycle.Record
		for _, r := range all {
			if r.YearGroup == "9" {
				r.LeaveDate = date("2026-07-22")
			}
			y9 = append(y9, r)
		}
		if p := f.plan(bulk(y9...)); p.Blocked == "" || len(p.Cohorts) != 0 {
			t.Errorf("a whole Year 9 leaving was taken as a cohort: %q %+v", p.Blocked, p.Cohorts)
		}
		// Year 11 leaving whole in December is not the end of the school year.
		f.now = time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
		var dec []lifecycle.Record
		for _, r := range all {
			if r.YearGroup == "11" {
				r.LeaveDate = date("2026-12-04")
			}
			dec = append(dec, r)
		}
		if p := f.plan(bulk(dec...)); p.Blocked == "" {
			t.Errorf("a whole year group leaving in December passed the breaker")
		}
	})
}

// TestYearEndCohortMissingFromTheExport: the September export no longer
// lists last year's Year 11 (and lists the new Year 7 intake): the lost
// rows are the cohort, so the breaker lets the run through, and the
// intake is shown.
func TestYearEndCohortMissingFromTheExport(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		f := newFixture(t, open, lifecycle.Policy{MissingRuns: 3})
		f.now = time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
		all := school(f, 20)
		f.now = time.Date(2026, 9, 2, 7, 0, 0, 0, time.UTC)
		var sept []lifecycle.Record
		for _, r := range all {
			if r.YearGroup != "11" {
				sept = append(sept, r)
			}
		}
		p := f.plan(bulk(sept...))
		if p.Blocked != "" {
			t.Fatalf("Year 11 gone from the September export was refused: %s", p.Blocked)
		}
		if len(kinds(p)[lifecycle.KindMissing]) != 20 || len(p.Cohorts) != 1 || p.Cohorts[0].Year != "11" {
			t.Fatalf("missing %d, cohorts %+v", len(kinds(p)[lifecycle.KindMissing]), p.Cohorts)
		}
		// The same with a truncated export besides: refused.
		if p := f.plan(bulk(sept[:len(sept)-20]...)); !strings.Contains(p.Blocked, "20 of them a year group leaving") {
			t.Errorf("lost rows beyond the cohort: %q", p.Blocked)
		}
		// The intake: 20 new Year 7 starters while Year 7 moves up.
		var moved []lifecycle.Record
		for _, r := range sept {
			if r.Role == directory.RolePupil {
				r.YearGroup = fmt.Sprint(yearNum(r.YearGroup) + 1)
				r.RegGroup = r.YearGroup + "A"
			}
			moved = append(moved, r)
		}
		for i := 0; i < 20; i++ {
			r := pupil(fmt.Sprintf("N07%03d", i), "New", fmt.Sprintf("Starter%d", i), "7", "7A")
			moved = append(moved, r)
		}
		p = f.plan(bulk(moved...))
		found := false
		for _, c := range p.Cohorts {
			if c.Change == lifecycle.CohortIntake && c.Year == "7" && c.N == 20 && c.Of == 20 {
				found = true
			}
		}
		if !found || p.Blocked != "" {
			t.Errorf("the intake is not shown as the expected cohort change: %+v %q", p.Cohorts, p.Blocked)
		}
	})
}

func yearNum(y string) int {
	var n int
	fmt.Sscan(y, &n)
	return n
}

// TestLeaversFutureAsOfAndRetention: a leaver plan as of a date to come is
// a preview that never applies, and a purge waits for the retention period
// counted from the day the account was really disabled; purges have their
// own breaker, with a year group purged whole let through.
func TestLeaversFutureAsOfAndRetention(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		year := 365 * 24 * time.Hour
		f := newFixture(t, open, lifecycle.Policy{MissingRuns: 1, Retention: year, MassChange: 1})
		f.now = time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
		all := school(f, 20)
		// Year 10's first pupils leave on 5 December, one day before today.
		f.now = time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)
		var dec []lifecycle.Record
		for _, r := range all {
			if r.YearGroup == "10" && yearNum(r.FamilyName[len("Y10n"):]) < 4 {
				r.Deleted = true
			}
			dec = append(dec, r)
		}
		f.sync(bulk(dec...))
		f.e.Policy.MassChange = 0
		future := time.Date(2027, 12, 7, 0, 0, 0, 0, time.UTC)
		lp, err := f.e.PlanLeavers(context.Background(), future, lifecycle.SyncOptions{AllowMassChange: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(kinds(lp)[lifecycle.KindPurge]) != 4 {
			t.Fatalf("the preview as of 2027-12-07 shows %v purges, want 4", kinds(lp)[lifecycle.KindPurge])
		}
		if _, err := f.e.Apply(context.Background(), lp, "test"); !errors.Is(err, lifecycle.ErrBadPlan) || !strings.Contains(err.Error(), "has not come yet") {
			t.Fatalf("a plan as of a date to come was applied: %v", err)
		}
		if n, _ := f.s.CountAccounts(context.Background(), directory.AccountQuery{Status: directory.StatusDisabled}); n != 4 {
			t.Fatalf("%d disabled accounts left, want the 4 still there", n)
		}
		// Made for today but carrying a purge whose retention has not
		// passed (as a hand-edited plan would): refused at apply.
		lp.AsOf = f.now
		if _, err := f.e.Apply(context.Background(), lp, "test"); !errors.Is(err, lifecycle.ErrBadPlan) || !strings.Contains(err.Error(), "retention period (365 days) has not passed") {
			t.Fatalf("a purge inside the retention period was applied: %v", err)
		}
		// Today, nothing is due.
		if lp, _ := f.e.PlanLeavers(context.Background(), f.now, lifecycle.SyncOptions{}); len(lp.Changes) != 0 {
			t.Fatalf("leavers today: %+v", lp.Changes)
		}
		// A year on, the 4 of 110 are due; with a 3% limit the purge
		// breaker refuses them (disables alone would not be counted).
		f.now = f.now.Add(year + 24*time.Hour)
		f.e.Policy.MassChange = 0.03
		lp, err = f.e.PlanLeavers(context.Background(), f.now, lifecycle.SyncOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(lp.Blocked, "it would purge 4 of 110 MIS accounts") || !strings.Contains(lp.Blocked, "cannot be undone") {
			t.Fatalf("purge breaker: %q", lp.Blocked)
		}
		f.e.Policy.MassChange = 0.05
		lp, _ = f.e.PlanLeavers(context.Background(), f.now, lifecycle.SyncOptions{})
		if lp.Blocked != "" {
			t.Fatalf("4 of 110 under 5%%: %q", lp.Blocked)
		}
		f.apply(lp)
	})
}

// TestPurgeOfAYearGroupThatLeftTogether: a whole Year 11 that left at the
// end of a school year is purged a year later as the expected cohort.
func TestPurgeOfAYearGroupThatLeftTogether(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		year := 365 * 24 * time.Hour
		f := newFixture(t, open, lifecycle.Policy{MissingRuns: 1, Retention: year})
		f.now = time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)
		all := school(f, 20)
		f.now = time.Date(2026, 7, 24, 7, 0, 0, 0, time.UTC)
		var rest []lifecycle.Record
		for _, r := range all {
			if r.YearGroup == "11" {
				r.LeaveDate = date("2026-07-22")
			}
			rest = append(rest, r)
		}
		f.sync(bulk(rest...))
		f.now = time.Date(2027, 7, 30, 7, 0, 0, 0, time.UTC)
		lp, err := f.e.PlanLeavers(context.Background(), f.now, lifecycle.SyncOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(kinds(lp)[lifecycle.KindPurge]); n != 20 || lp.Blocked != "" {
			t.Fatalf("purge of last year's Year 11: %d purges, blocked %q", n, lp.Blocked)
		}
		if len(lp.Cohorts) != 1 || lp.Cohorts[0].Change != lifecycle.CohortPurged || lp.Cohorts[0].Year != "11" {
			t.Errorf("cohorts: %+v", lp.Cohorts)
		}
	})
}
