package lifecycle

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// Kind is what a change does.
type Kind string

// The kinds of change. Missing and Hold change no account: they are shown
// so that a technician sees them.
const (
	KindStart   Kind = "start"   // create an account
	KindMove    Kind = "move"    // change attributes or groups
	KindLeave   Kind = "leave"   // set a leave date, and disable when access has ended
	KindReturn  Kind = "return"  // re-enable a leaver back on roll
	KindMissing Kind = "missing" // absent from a bulk export, not yet a leaver
	KindHold    Kind = "hold"    // on roll but disabled by hand: left alone
	KindDisable Kind = "disable" // the leaver job: access has ended
	KindPurge   Kind = "purge"   // the leaver job: disabled longer than the retention period
	// KindLegalHold: past retention, but a legal hold keeps the records.
	KindLegalHold Kind = "legal-hold"
	// KindSkip is a row the sync takes and passes over, with the reason
	// (a past leaver who never had an account): shown, changes nothing.
	KindSkip Kind = "skip"
	// KindDual registers at the school planned an account of another of
	// the trust's schools that is on this school's roll too (dual
	// registration): one account, in both scopes.
	KindDual Kind = "dual"
	// KindDualEnd ends that registration when the account is no longer on
	// this school's roll (a bulk export without it).
	KindDualEnd Kind = "dual-end"
	// KindAdopt gives an MIS account of no school (made before the trust's
	// schools were configured) to the school whose export holds it.
	KindAdopt Kind = "adopt"
)

// PlanVersion is the plan file format; a plan of another version is refused.
const PlanVersion = 1

// Fields are the attributes of an account that the MIS owns.
type Fields struct {
	Role        directory.Role `json:"role"`
	GivenName   string         `json:"given_name"`
	FamilyName  string         `json:"family_name"`
	DisplayName string         `json:"display_name,omitempty"`
	Email       string         `json:"email,omitempty"`
	YearGroup   string         `json:"year_group,omitempty"`
	RegGroup    string         `json:"reg_group,omitempty"`
	StartDate   string         `json:"start_date,omitempty"`
	LeaveDate   string         `json:"leave_date,omitempty"`
}

func fieldsOf(a directory.Account) Fields {
	return Fields{Role: a.Role, GivenName: a.GivenName, FamilyName: a.FamilyName, DisplayName: a.DisplayName, Email: a.Email,
		YearGroup: a.YearGroup, RegGroup: a.RegGroup, StartDate: directory.FormatDate(a.StartDate), LeaveDate: directory.FormatDate(a.LeaveDate)}
}

func fieldsFrom(r Record) Fields {
	return Fields{Role: r.Role, GivenName: strings.TrimSpace(r.GivenName), FamilyName: strings.TrimSpace(r.FamilyName),
		DisplayName: shownName(r), Email: strings.TrimSpace(r.Email), YearGroup: r.YearGroup,
		RegGroup: r.RegGroup, StartDate: directory.FormatDate(r.StartDate), LeaveDate: directory.FormatDate(r.LeaveDate)}
}

// shownName is the name people see, made from the MIS's preferred
// forename: "Jack Smith" for a legal John Smith who goes by Jack, "Khai
// Nguyễn" for Thị Minh Khai Nguyễn. The preferred forename replaces the
// legal forename only, never the whole name; the legal names stay in
// GivenName and FamilyName. Empty (the legal names are shown) when there is
// no preferred name or it is the legal forename; a preferred name that
// already ends with the family name is taken whole.
func shownName(r Record) string {
	pref, given, family := strings.TrimSpace(r.PreferredName), strings.TrimSpace(r.GivenName), strings.TrimSpace(r.FamilyName)
	switch {
	case pref == "" || strings.EqualFold(pref, given):
		return ""
	case family == "" || strings.EqualFold(pref, family):
		return pref
	case len(pref) > len(family) && strings.EqualFold(pref[len(pref)-len(family)-1:], " "+family):
		return pref
	}
	return pref + " " + family
}

// setLeaveToday gives a leaver the MIS gave no date today as leave date;
// one who leaves before their start date never started, and starts and
// leaves today.
func (f *Fields) setLeaveToday(today time.Time) {
	f.LeaveDate = directory.FormatDate(today)
	if f.StartDate > f.LeaveDate {
		f.StartDate = f.LeaveDate
	}
}

// put writes f onto a.
func (f Fields) put(a *directory.Account) {
	a.Role, a.GivenName, a.FamilyName, a.DisplayName, a.Email = f.Role, f.GivenName, f.FamilyName, f.DisplayName, f.Email
	a.YearGroup, a.RegGroup = f.YearGroup, f.RegGroup
	a.StartDate, _ = directory.ParseDate(f.StartDate)
	a.LeaveDate, _ = directory.ParseDate(f.LeaveDate)
}

// Change is one account's part of a plan.
type Change struct {
	Kind      Kind   `json:"kind"`
	MISID     string `json:"mis_id"`
	Username  string `json:"username"`
	AccountID int64  `json:"account_id,omitempty"` // 0 for a starter
	// Set, when not nil, is what the account's MIS attributes become.
	Set *Fields `json:"set,omitempty"`
	// Join and Part are MIS groups to join and leave, by name.
	Join []string `json:"join,omitempty"`
	Part []string `json:"part,omitempty"`
	// Disable ends access now; Enable restores a leaver's.
	Disable bool `json:"disable,omitempty"`
	Enable  bool `json:"enable,omitempty"`
	// Why says it in words, one item per difference.
	Why []string `json:"why,omitempty"`
}

// Plan is what a job would change, changing nothing. Apply carries out
// exactly this.
type Plan struct {
	Version int       `json:"version"`
	Job     string    `json:"job"` // sync or leavers
	Source  string    `json:"source,omitempty"`
	Delta   bool      `json:"delta,omitempty"`
	MadeAt  time.Time `json:"made_at"`
	// Fingerprint digests the directory the plan was made from.
	Fingerprint string `json:"fingerprint"`
	Rows        int    `json:"rows"`
	Watermark   string `json:"watermark,omitempty"`
	// Blocked, when set, is why the plan is a mass change; it applies only
	// with AllowMassChange.
	Blocked         string `json:"blocked,omitempty"`
	AllowMassChange bool   `json:"allow_mass_change,omitempty"`
	// Cohorts are the year groups leaving, starting or purged together at
	// the turn of the school year: expected, so outside the limits.
	Cohorts []Cohort `json:"cohorts,omitempty"`
	// AsOf is the instant a leaver plan was made for; a plan for a time
	// still to come is a preview and never applies.
	AsOf time.Time `json:"as_of,omitzero"`
	// Years says, for a OneRoster export, which year group each grade
	// code became (the grade mapping), for the plan's first lines.
	Years []GradeYear `json:"years,omitempty"`

	Groups []NewGroup `json:"groups,omitempty"`
	// RefusedGroups are groups the MIS named that would have taken the
	// name of a role group, a group kept by hand, a group of another kind
	// or an account: no one joins them.
	RefusedGroups []GroupRefusal `json:"refused_groups,omitempty"`
	Changes       []Change       `json:"changes"`
	// Refused is the refusal queue as it will stand after the run.
	Refused []directory.SyncRefusal `json:"refused,omitempty"`
	// Missing are the missing-run counts after the run.
	Missing map[string]int `json:"missing,omitempty"`
	// School is the trust's school a sync planned alone; its starters are
	// made there.
	School string `json:"school,omitempty"`
}

// Counts sums the plan by kind, with refused rows, for the run record.
func (p *Plan) Counts() map[string]int {
	c := map[string]int{}
	for _, ch := range p.Changes {
		c[string(ch.Kind)]++
		if ch.Disable {
			c["disabled"]++
		}
	}
	if p.Job == "sync" {
		c["refused"] = len(p.Refused)
	}
	c["groups"] = len(p.Groups)
	return c
}

// SyncOptions are a technician's choices for one sync.
type SyncOptions struct {
	// AllowMassChange lets the plan apply even when it disables too many
	// accounts or the source lost too many rows.
	AllowMassChange bool
	// School, in a trust, plans that school alone (see scopeTo); its
	// starters are made there.
	School string
}

// Engine plans and applies the MIS sync and the leaver job over the
// directory.
type Engine struct {
	Dir    *directory.Directory
	Policy Policy
	// Progress, when set, is told how far a long stage has got.
	Progress func(stage string, done, total int)
}

func (e *Engine) progress(stage string, done, total int) {
	if e.Progress != nil {
		e.Progress(stage, done, total)
	}
}

// retentionSince is the earliest purge that still keeps a username from
// being reused.
func (e *Engine) retentionSince(now time.Time) time.Time {
	if e.Policy.Retention <= 0 {
		return time.Time{}
	}
	return now.Add(-e.Policy.Retention)
}

const leftReason = "left: "

// skipWhy says why a row makes no account: its line, and that the person
// left before Keystage ever made them one.
func skipWhy(r Record, left string) string {
	where := r.File
	if r.Line > 0 {
		where = fmt.Sprintf("%s line %d", r.File, r.Line)
	}
	if where != "" {
		where += ": "
	}
	return where + left + " and never had an account: skipped, no account made"
}

// fillPartial completes a record from a delta that did not restate
// everything: the role the account has, and, when the export does not
// list every enrolment, the account's registration group and classes with
// the classes the export adds and takes away.
func (st *state) fillPartial(r *Record, a *directory.Account, exp *Export) {
	if r.Role == "" {
		r.Role = a.Role
	}
	if !exp.ClassesPartial {
		return
	}
	if r.RegGroup == "" {
		r.RegGroup = a.RegGroup
	}
	left := map[string]bool{}
	for _, c := range r.LeftClasses {
		left[groupName(c)] = true
	}
	have := map[string]bool{}
	var classes []string
	for _, c := range r.Classes {
		if n := groupName(c); !have[n] && !left[n] {
			have[n] = true
			classes = append(classes, c)
		}
	}
	for _, n := range st.member[a.ID] {
		g := st.groups[n]
		if g.Kind != directory.GroupClass || have[n] || left[n] {
			continue
		}
		have[n] = true
		code := g.MISID
		if code == "" {
			code = n
		}
		classes = append(classes, code)
	}
	r.Classes = classes
}

// leave settles whether a leaver is disabled now or keeps access to the
// end of the leave date and its grace. flagged is a leaver the MIS marked
// without a date: access ends now unless a grace rule keeps it.
func (e *Engine) leave(c *Change, a directory.Account, f Fields, now time.Time, flagged bool) {
	b := accountWith(a, f)
	end := e.Policy.AccessEnd(b)
	if flagged && e.Policy.LeaverGrace(b) == 0 {
		end = now
	}
	if !end.After(now) {
		c.Disable = true
		c.Why = append(c.Why, "leave date "+f.LeaveDate+": disabled now, Wi-Fi credential revoked")
		return
	}
	c.Why = append(c.Why, "leave date "+f.LeaveDate+": access until "+end.In(e.Policy.loc()).Format("2006-01-02 15:04"))
}

func accountWith(a directory.Account, f Fields) directory.Account {
	f.put(&a)
	return a
}

func leaverWhy(r Record) []string {
	switch {
	case r.Deleted:
		return []string{"the MIS marks the record to be deleted"}
	case r.Disabled:
		return []string{"the MIS marks the person disabled"}
	}
	return nil
}

// safety blocks a plan that would disable more than the allowed share of
// MIS accounts, or whose bulk source lost more than that share of its rows
// since the last applied sync: a truncated export must never empty the
// school. A year group leaving whole at the end of the school year is the
// expected cohort change, shown in the plan and left out of both counts;
// what is left over is held to the limit.
func (e *Engine) safety(p *Plan, st *state, exp *Export, present map[string]bool, today time.Time) {
	share := e.Policy.massChange()
	leaving, explained := e.leavingCohorts(p, st, today)
	p.Cohorts = append(append(p.Cohorts, leaving...), e.intakeCohorts(p, st, today)...)
	var why []string
	if w := e.tooManyDisabled(p, st, explained); w != "" {
		why = append(why, w)
	}
	if last := st.lastSync; last != nil && !exp.Delta && last.Rows > 0 && exp.Rows < last.Rows {
		lost := last.Rows - exp.Rows
		gone := 0 // rows of the leaving cohorts, gone from the export
		for id := range explained {
			if !present[id] {
				gone++
			}
		}
		if over := lost - gone; float64(over) > share*float64(last.Rows) {
			cohort := ""
			if gone > 0 {
				cohort = fmt.Sprintf(" (%d of them a year group leaving at the end of the school year, the %d others %.1f%%)", gone, over, 100*float64(over)/float64(last.Rows))
			}
			why = append(why, fmt.Sprintf("the export has %d rows, %d fewer than the %d of the last sync (%.1f%%)%s, more than the %.0f%% allowed",
				exp.Rows, lost, last.Rows, 100*float64(lost)/float64(last.Rows), cohort, 100*share))
		}
	}
	if len(why) > 0 {
		p.Blocked = strings.Join(why, "; ") + ": check the export is complete, then run again with --allow-mass-change if these changes are right"
	}
}

// tooManyDisabled says why a plan disables more than the allowed share of
// the active MIS accounts, leaving out those in a leaving cohort, or is
// empty.
func (e *Engine) tooManyDisabled(p *Plan, st *state, explained map[string]bool) string {
	share := e.Policy.massChange()
	active, disabling, cohort := 0, 0, 0
	for _, a := range st.accounts {
		if a.Status == directory.StatusActive {
			active++
		}
	}
	for _, c := range p.Changes {
		if c.Disable {
			disabling++
			if explained[c.MISID] {
				cohort++
			}
		}
	}
	over := disabling - cohort
	if active == 0 || float64(over) <= share*float64(active) {
		return ""
	}
	if cohort > 0 {
		return fmt.Sprintf("it would disable %d of %d MIS accounts: %d of them a year group leaving at the end of the school year, and %d others (%.1f%%), more than the %.0f%% allowed",
			disabling, active, cohort, over, 100*float64(over)/float64(active), 100*share)
	}
	return fmt.Sprintf("it would disable %d of %d MIS accounts (%.1f%%), more than the %.0f%% allowed",
		disabling, active, 100*float64(disabling)/float64(active), 100*share)
}

// tooManyPurged says why a leaver plan purges more than the allowed share
// of the MIS accounts, leaving out year groups purged whole, or is empty.
// A purge cannot be undone, so it has a breaker of its own.
func (e *Engine) tooManyPurged(p *Plan, st *state, explained map[string]bool) string {
	share := e.Policy.massChange()
	purging, cohort := 0, 0
	for _, c := range p.Changes {
		if c.Kind == KindPurge {
			purging++
			if explained[c.MISID] {
				cohort++
			}
		}
	}
	all, over := len(st.accounts), purging-cohort
	if all == 0 || float64(over) <= share*float64(all) {
		return ""
	}
	return fmt.Sprintf("it would purge %d of %d MIS accounts (%d of them year groups that left together at the end of a school year, %d others: %.1f%%), more than the %.0f%% allowed; a purge cannot be undone",
		purging, all, cohort, over, 100*float64(over)/float64(all), 100*share)
}

// mergeQueue is the refusal queue after a run. A bulk export replaces it;
// a delta keeps earlier refusals except for the people it now carries.
func mergeQueue(old, now []directory.SyncRefusal, present map[string]bool, delta bool, at time.Time) []directory.SyncRefusal {
	key := func(x directory.SyncRefusal) string { return x.MISID + "\x00" + x.Reason }
	seen := map[string]time.Time{}
	for _, x := range old {
		seen[key(x)] = x.FirstSeen
	}
	var out []directory.SyncRefusal
	if delta {
		for _, x := range old {
			if x.MISID != "" && present[x.MISID] {
				continue
			}
			out = append(out, x)
		}
	}
	for _, x := range now {
		x.FirstSeen, x.LastSeen = at.UTC().Truncate(time.Microsecond), at.UTC().Truncate(time.Microsecond)
		if t, ok := seen[key(x)]; ok && !t.IsZero() {
			x.FirstSeen = t
		}
		out = append(out, x)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].MISID != out[j].MISID {
			return out[i].MISID < out[j].MISID
		}
		return out[i].Line < out[j].Line
	})
	return out
}

func diffGroups(have []string, want map[string]bool) (join, part []string) {
	had := make(map[string]bool, len(have))
	for _, g := range have {
		had[g] = true
		if !want[g] {
			part = append(part, g)
		}
	}
	for g := range want {
		if !had[g] {
			join = append(join, g)
		}
	}
	sort.Strings(join)
	sort.Strings(part)
	return join, part
}

// diffFields says in words what changes between two sets of attributes.
func diffFields(old, f Fields) []string {
	var out []string
	add := func(what, a, b string) {
		if a != b {
			switch {
			case a == "":
				out = append(out, fmt.Sprintf("%s set to %s", what, b))
			case b == "":
				out = append(out, fmt.Sprintf("%s %s cleared", what, a))
			default:
				out = append(out, fmt.Sprintf("%s %s → %s", what, a, b))
			}
		}
	}
	add("role", string(old.Role), string(f.Role))
	add("given name", old.GivenName, f.GivenName)
	if old.FamilyName != f.FamilyName {
		add("family name", old.FamilyName, f.FamilyName)
		out[len(out)-1] += " (username kept)"
	}
	add("name shown (preferred)", old.DisplayName, f.DisplayName)
	add("email", old.Email, f.Email)
	add("year", old.YearGroup, f.YearGroup)
	add("registration group", old.RegGroup, f.RegGroup)
	add("start date", old.StartDate, f.StartDate)
	add("leave date", old.LeaveDate, f.LeaveDate)
	return out
}
