package lifecycle

import (
	"fmt"
	"strings"
	"time"
)

// DefaultDateLayouts are the ways MIS reports in England and Wales write a
// date, tried in this order: day first, never month first.
var DefaultDateLayouts = []string{"02/01/2006", "2006-01-02", "02-01-2006", "2/1/2006"}

// oneRosterDateLayouts are the specification's date and datetime forms,
// then the day-first forms that exporters in the wild also write
// ("1/05/2023").
var oneRosterDateLayouts = []string{time.RFC3339Nano, "2006-01-02", "2006-01-02T15:04:05.999999999", "2/1/2006", "02/01/2006"}

// parseDate reads s with the first layout that takes it. A layout without a
// zone is a date (or time) in loc, the school's zone, so that "leaves on
// 31/08/2026" means midnight at the school rather than in UTC.
func parseDate(s string, layouts []string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	// A report saved through Excel often gains a midnight time
	// ("03/09/2026 00:00"): the date before it is what the MIS meant.
	if d, rest, ok := strings.Cut(s, " "); ok && isMidnight(strings.TrimSpace(rest)) {
		return parseDate(d, layouts, loc)
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}

// layoutExample shows a layout as a technician reads it: 02/01/2006 →
// DD/MM/YYYY.
func layoutExample(l string) string {
	r := strings.NewReplacer("2006", "YYYY", "02", "DD", "01", "MM", "15", "hh", "04", "mm", "05", "ss")
	return r.Replace(l)
}

// validLayout is true when l round-trips a date, so that a typo in the
// configuration ("dd/mm/yyyy") is caught at start rather than as every row
// refused.
func validLayout(l string) bool {
	ref := time.Date(2026, 9, 3, 0, 0, 0, 0, time.UTC)
	t, err := time.Parse(l, ref.Format(l))
	return err == nil && t.Equal(ref) && strings.Contains(l, "2006")
}

func isMidnight(s string) bool {
	switch s {
	case "00:00", "00:00:00", "0:00", "0:00:00", "12:00:00 AM", "12:00 AM":
		return true
	}
	return false
}
