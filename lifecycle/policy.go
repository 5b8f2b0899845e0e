package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// Errors of planning and applying; test them with errors.Is.
var (
	// ErrMassChange is a plan that would disable too many accounts, or
	// whose source lost too many rows, applied without AllowMassChange.
	ErrMassChange = errors.New("mass change refused")
	// ErrStale is a plan applied after the directory it was made from
	// changed: make a new plan.
	ErrStale = errors.New("the directory changed since the plan was made")
	// ErrBadPlan is a plan file that cannot be applied as it stands.
	ErrBadPlan = errors.New("not a plan this version can apply")
)

// Policy is what the configuration decides about the lifecycle.
type Policy struct {
	// Usernames is the username pattern of each role (see Username);
	// a role without one uses DefaultPatterns.
	Usernames map[directory.Role]string
	// Reserved are words never generated: a candidate username containing
	// one is passed over.
	Reserved []string
	// MaxUsername bounds the generated base before any collision number
	// (default 20).
	MaxUsername int
	// MassChange is the share of MIS accounts a run may disable, and of
	// source rows it may lose since the last run, before it is refused
	// (default 0.05).
	MassChange float64
	// MissingRuns is how many consecutive bulk exports a person may be
	// absent from before becoming a leaver (default 3).
	MissingRuns int
	// Grace keeps leavers' access past their leave date; the first rule
	// that matches an account applies.
	Grace []Grace
	// Retention is how long a disabled account is kept before the leaver
	// job purges it, and how long a purged username is not reused.
	// Zero: never purge, never reuse.
	Retention time.Duration
	// Location is the school's time zone: dates begin at its midnight.
	Location *time.Location
}

// DefaultPatterns are the username patterns when none is configured: the
// demo's rule (26jsmith for a pupil who started in 2026, jsmith for staff).
var DefaultPatterns = map[directory.Role]string{
	directory.RolePupil: "{yy}{g}{family}",
	directory.RoleStaff: "{g}{family}",
}

// Grace is one leaver-grace rule. Role and Year select accounts (empty:
// any); Until ("09-30") keeps access to the end of that day next on or
// after the leave date; Days adds days past the leave date.
type Grace struct {
	Role  directory.Role
	Year  string
	Until string // MM-DD
	Days  int
}

func (p Policy) loc() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

func (p Policy) massChange() float64 {
	if p.MassChange <= 0 {
		return 0.05
	}
	return p.MassChange
}

func (p Policy) missingRuns() int {
	if p.MissingRuns <= 0 {
		return 3
	}
	return p.MissingRuns
}

func (p Policy) maxUsername() int {
	if p.MaxUsername <= 0 {
		return 20
	}
	return p.MaxUsername
}

func (p Policy) pattern(r directory.Role) string {
	if v := p.Usernames[r]; v != "" {
		return v
	}
	if v := DefaultPatterns[r]; v != "" {
		return v
	}
	return DefaultPatterns[directory.RoleStaff]
}

// Validate reports every fault in p at once.
func (p Policy) Validate() []string {
	var out []string
	for r, pat := range p.Usernames {
		if err := checkPattern(pat); err != nil {
			out = append(out, fmt.Sprintf("username pattern of %s: %v", r, err))
		}
	}
	for _, w := range p.Reserved {
		if w == "" || w != strings.ToLower(w) {
			out = append(out, fmt.Sprintf("reserved word %q: write it in lower case", w))
		}
	}
	if p.MassChange < 0 || p.MassChange > 1 {
		out = append(out, fmt.Sprintf("mass-change share %v: want between 0 and 1 (0.05 is 5%%)", p.MassChange))
	}
	for i, g := range p.Grace {
		if g.Until != "" {
			if _, err := time.Parse("01-02", g.Until); err != nil {
				out = append(out, fmt.Sprintf("grace rule %d: until %q: want MM-DD, e.g. 09-30", i+1, g.Until))
			}
		}
		if g.Days < 0 {
			out = append(out, fmt.Sprintf("grace rule %d: days must not be negative", i+1))
		}
		if g.Until == "" && g.Days == 0 {
			out = append(out, fmt.Sprintf("grace rule %d: give until (MM-DD) or days", i+1))
		}
	}
	if p.Retention < 0 {
		out = append(out, "retention must not be negative")
	}
	return out
}

// day is midnight at the start of date d in the school's time zone.
func (p Policy) day(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, p.loc())
}

// AccessEnd is the instant a leaver's access ends: the end of the leave
// date, pushed back by the first grace rule that matches. Zero when the
// account has no leave date.
func (p Policy) AccessEnd(a directory.Account) time.Time {
	if a.LeaveDate.IsZero() {
		return time.Time{}
	}
	end := p.day(a.LeaveDate).AddDate(0, 0, 1)
	for _, g := range p.Grace {
		if (g.Role != "" && g.Role != a.Role) || (g.Year != "" && !strings.EqualFold(g.Year, a.YearGroup)) {
			continue
		}
		alt := end
		if g.Until != "" {
			md, err := time.Parse("01-02", g.Until)
			if err == nil {
				u := time.Date(a.LeaveDate.Year(), md.Month(), md.Day(), 0, 0, 0, 0, p.loc())
				if u.Before(p.day(a.LeaveDate)) {
					u = u.AddDate(1, 0, 0)
				}
				alt = u.AddDate(0, 0, 1)
			}
		}
		if g.Days > 0 {
			alt = alt.AddDate(0, 0, g.Days)
		}
		if alt.After(end) {
			end = alt
		}
		break
	}
	return end
}

// LeaverGrace is the gate's view of the grace rules: how long past the end
// of the leave date an account keeps access.
func (p Policy) LeaverGrace(a directory.Account) time.Duration {
	if a.LeaveDate.IsZero() {
		return 0
	}
	return p.AccessEnd(a).Sub(p.day(a.LeaveDate).AddDate(0, 0, 1))
}
