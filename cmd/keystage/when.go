package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// parseWhen reads a date (its midnight) or a date and time, in the
// school's time zone.
func parseWhen(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{directory.DateLayout, "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM (%s)", v, loc)
}

// addSpan adds a length written as 3d (calendar days in the school's time
// zone, so that a suspension ends at the same hour across a clock change),
// or as a Go duration such as 90m or 36h.
func addSpan(from time.Time, v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return time.Time{}, fmt.Errorf("%q: want a number of days such as 3d", v)
		}
		return from.In(loc).AddDate(0, 0, n), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%q: want a length such as 3d, 36h or 90m", v)
	}
	return from.Add(d), nil
}

// showWhen writes an instant for a person, in the school's time zone.
func showWhen(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("Mon 2 Jan 2006 15:04")
}
