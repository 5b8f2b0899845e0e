package lifecycle

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recordLine writes a record on one line so that a test's want reads like
// the export and a failure shows the field that differs.
func recordLine(r Record) string {
	d := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	flags := ""
	if r.Deleted {
		flags += " deleted"
	}
	if r.Disabled {
		flags += " disabled"
	}
	return fmt.Sprintf("%d %s %s %q %q pref=%q email=%q year=%q reg=%q classes=%v left=%v start=%s leave=%s modified=%s%s",
		r.Line, r.MISID, r.Role, r.GivenName, r.FamilyName, r.PreferredName, r.Email, r.YearGroup, r.RegGroup,
		r.Classes, r.LeftClasses, d(r.StartDate), d(r.LeaveDate), d(r.Modified), flags)
}

func refusalLine(r Refusal) string {
	return fmt.Sprintf("%s:%d %s: %s", r.File, r.Line, r.MISID, r.Reason)
}

// checkExport compares the records and refusals of exp with want, line by
// line; refusals are matched on the start of their line so that a test
// names the reason without repeating all of its advice.
func checkExport(t *testing.T, exp *Export, wantRecords, wantRefused []string) {
	t.Helper()
	var got []string
	for _, r := range exp.Records {
		got = append(got, recordLine(r))
	}
	if strings.Join(got, "\n") != strings.Join(wantRecords, "\n") {
		t.Errorf("records:\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantRecords, "\n  "))
	}
	var refused []string
	for _, r := range exp.Refused {
		refused = append(refused, refusalLine(r))
	}
	ok := len(refused) == len(wantRefused)
	for i := 0; ok && i < len(refused); i++ {
		ok = strings.HasPrefix(refused[i], wantRefused[i])
	}
	if !ok {
		t.Errorf("refused:\n got:\n  %s\nwant (prefixes):\n  %s", strings.Join(refused, "\n  "), strings.Join(wantRefused, "\n  "))
	}
}

func london(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatalf("time zone data: %v", err)
	}
	return loc
}

func bytesReader(b []byte) *strings.Reader { return strings.NewReader(string(b)) }
