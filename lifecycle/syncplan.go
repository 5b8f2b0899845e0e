package lifecycle

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// PlanSync works out what an export would change. Its steps: screen the
// rows (refusing what the plan cannot take), choose the groups to make,
// plan each record against its account, then the people missing from a
// bulk export, and last the safety checks.
func (e *Engine) PlanSync(ctx context.Context, exp *Export, opt SyncOptions) (*Plan, error) {
	now := e.Dir.Now()
	st, err := load(ctx, e.Dir.Store(), func(n int) { e.progress("reading the directory", n, 0) })
	if err != nil {
		return nil, fmt.Errorf("sync plan: %w", err)
	}
	sp := &syncPlan{e: e, exp: exp, st: st, now: now, today: e.Policy.day(now.In(e.Policy.loc())), present: map[string]bool{}, school: opt.School}
	sp.p = &Plan{Version: PlanVersion, Job: "sync", Source: exp.Source, Delta: exp.Delta, MadeAt: now,
		Fingerprint: st.fingerprint(), Rows: exp.Rows, AllowMassChange: opt.AllowMassChange, Years: exp.Years, School: opt.School}
	var otherRefusals []directory.SyncRefusal
	if opt.School != "" {
		if err := st.scopeTo(ctx, e.Dir.Store(), opt.School, exp.Source); err != nil {
			return nil, fmt.Errorf("sync plan: %w", err)
		}
		st.queue, otherRefusals = splitQueue(st.queue, exp.Source)
	}
	// Names held now (load) or purged within the retention period are never
	// handed out.
	if err := st.holdPurged(ctx, e.Dir.Store(), e.retentionSince(now)); err != nil {
		return nil, fmt.Errorf("sync plan: %w", err)
	}
	sp.un = &usernames{p: e.Policy, today: sp.today, used: map[string]bool{}, taken: func(ctx context.Context, name string) (bool, error) {
		return st.names[name], nil
	}}
	recs := sp.screen()
	sp.chooseGroups(recs)
	if err := sp.planRecords(ctx, recs); err != nil {
		return nil, fmt.Errorf("sync plan: %w", err)
	}
	sp.planMissing()
	sp.planDualEnds()
	p := sp.p
	p.Changes = append(p.Changes, sp.skipped...)
	p.Refused = mergeQueue(st.queue, sp.refused, sp.present, exp.Delta, now)
	sp.carryForward(p, otherRefusals)
	e.safety(p, st, exp, sp.present, sp.today)
	return p, nil
}

// syncPlan is what the steps of one sync plan share.
type syncPlan struct {
	e          *Engine
	exp        *Export
	st         *state
	p          *Plan
	now, today time.Time
	un         *usernames
	school     string // a trust's school planned alone (SyncOptions.School)

	refused []directory.SyncRefusal
	present map[string]bool // MIS ids in the export, refused or not: never missing
	skipped []Change        // rows passed over, shown in the plan with the reason

	newGroups    map[string]NewGroup // groups not yet held, by name
	made         map[string]bool     // new groups already in the plan
	refusedGroup map[string]bool     // kind and name of groups refused
}

func (sp *syncPlan) refuse(r Record, reason string) {
	sp.refused = append(sp.refused, directory.SyncRefusal{MISID: r.MISID, Source: sp.exp.Source, File: r.File, Line: r.Line, Reason: reason})
}

// screen takes the reader's refusals, then refuses the rows this plan
// cannot take, and returns the others, in MIS id order.
func (sp *syncPlan) screen() []Record {
	for _, x := range sp.exp.Refused {
		sp.refused = append(sp.refused, directory.SyncRefusal{MISID: x.MISID, Source: sp.exp.Source, File: x.File, Line: x.Line, Reason: x.Reason})
		if x.MISID != "" {
			sp.present[x.MISID] = true
		}
	}
	first := map[string]int{} // MIS id → line it was first seen on
	var recs []Record
	for _, r := range sp.exp.Records {
		r.MISID = strings.TrimSpace(r.MISID)
		if r.MISID == "" {
			sp.refuse(r, "no MIS id")
			continue
		}
		if line, dup := first[r.MISID]; dup {
			sp.refuse(r, fmt.Sprintf("MIS id %s is also on line %d: the MIS must give each person one id", r.MISID, line))
			continue
		}
		first[r.MISID] = r.Line
		sp.present[r.MISID] = true
		if u, ok := sp.st.manualID[r.MISID]; ok {
			sp.refuse(r, fmt.Sprintf("MIS id %s belongs to %s, an account kept by hand: the sync leaves it alone", r.MISID, u))
			continue
		}
		a := sp.st.byMIS[r.MISID]
		if a != nil {
			sp.st.fillPartial(&r, a, sp.exp)
		}
		if r.Deleted {
			if a != nil {
				recs = append(recs, r) // a deletion row may carry nothing but the id
			} else {
				sp.skipped = append(sp.skipped, Change{Kind: KindSkip, MISID: r.MISID, Why: []string{skipWhy(r, "the MIS marks the record to be deleted")}})
			}
			continue
		}
		if why := rowProblem(r); why != "" {
			sp.refuse(r, why)
			continue
		}
		recs = append(recs, r)
	}
	// Starters get usernames in MIS id order, so the same export always
	// gives the same names whatever order its rows are in.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].MISID < recs[j].MISID })
	return recs
}

// rowProblem says why the sync cannot take a row that is not a deletion,
// or "" when it can.
func rowProblem(r Record) string {
	switch {
	case r.Role == "":
		return "no role: the MIS must say whether a person new to Keystage is staff or a pupil"
	case r.Role != directory.RoleStaff && r.Role != directory.RolePupil:
		return fmt.Sprintf("role %q: the sync makes staff and pupils only", r.Role)
	case strings.TrimSpace(r.GivenName) == "" && strings.TrimSpace(r.FamilyName) == "":
		return "no name"
	case !r.StartDate.IsZero() && !r.LeaveDate.IsZero() && r.LeaveDate.Before(r.StartDate):
		return fmt.Sprintf("leave date %s is before start date %s", directory.FormatDate(r.LeaveDate), directory.FormatDate(r.StartDate))
	}
	return ""
}

// chooseGroups gives a name not yet held to the group of the strongest
// kind any record asks for (role, year, registration group, class),
// whatever the row order, so that a class can never take a year's name
// first.
func (sp *syncPlan) chooseGroups(recs []Record) {
	sp.newGroups, sp.made, sp.refusedGroup = map[string]NewGroup{}, map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		for _, g := range sp.groupsFor(r) {
			if _, held := sp.st.groups[g.Name]; held {
				continue
			}
			if have, ok := sp.newGroups[g.Name]; !ok || kindRank(g.Kind) < kindRank(have.Kind) {
				sp.newGroups[g.Name] = g
			}
		}
	}
}

// want returns the groups r belongs in, adding to the plan the new ones
// and the refused ones, and to why the groups left out.
func (sp *syncPlan) want(r Record, why *[]string) map[string]bool {
	out := map[string]bool{}
	for _, g := range sp.groupsFor(r) {
		if directory.ValidUsername(g.Name) != nil {
			*why = append(*why, fmt.Sprintf("group for %q left out: its name needs a letter", g.Description))
			continue
		}
		if reason := sp.st.groupClash(g, sp.newGroups); reason != "" {
			*why = append(*why, reason)
			if key := string(g.Kind) + "\x00" + g.Name; !sp.refusedGroup[key] {
				sp.refusedGroup[key] = true
				sp.p.RefusedGroups = append(sp.p.RefusedGroups, GroupRefusal{Name: g.Name, Kind: g.Kind, From: g.Description, Reason: reason})
			}
			continue
		}
		if _, ok := sp.st.groups[g.Name]; !ok && !sp.made[g.Name] {
			sp.made[g.Name] = true
			sp.p.Groups = append(sp.p.Groups, sp.newGroups[g.Name])
		}
		out[g.Name] = true
	}
	return out
}

// planRecords plans each record against its account, if any, and sets the
// plan's watermark.
func (sp *syncPlan) planRecords(ctx context.Context, recs []Record) error {
	var watermark time.Time
	last := sp.st.lastSync
	if last != nil && sp.exp.Delta {
		watermark, _ = time.Parse(time.RFC3339Nano, last.Watermark)
	}
	for i, r := range recs {
		if i%1000 == 0 {
			sp.e.progress("planning", i, len(recs))
		}
		if r.Modified.After(watermark) {
			watermark = r.Modified
		}
		leaver := r.Deleted || r.Disabled || (!r.LeaveDate.IsZero() && r.LeaveDate.Before(sp.today))
		a := sp.st.byMIS[r.MISID]
		if a != nil && sp.adopt(r, a) {
			sp.planAccount(r, a, leaver)
		} else if a != nil && sp.elsewhere(a) {
			sp.passOver(r, a)
		} else if a != nil {
			sp.planAccount(r, a, leaver)
		} else if err := sp.planNewcomer(ctx, r, leaver); err != nil {
			return err
		}
	}
	sp.e.progress("planning", len(recs), len(recs))
	if !watermark.IsZero() {
		sp.p.Watermark = watermark.UTC().Format(time.RFC3339Nano)
	} else if last != nil && sp.exp.Delta {
		sp.p.Watermark = last.Watermark
	}
	return nil
}

// planNewcomer plans a record with no account: a starter, or a leaver
// skipped.
func (sp *syncPlan) planNewcomer(ctx context.Context, r Record, leaver bool) error {
	if leaver {
		why := "the MIS marks the person disabled"
		if !r.Disabled {
			why = "left " + directory.FormatDate(r.LeaveDate)
		}
		sp.skipped = append(sp.skipped, Change{Kind: KindSkip, MISID: r.MISID, Why: []string{skipWhy(r, why)}})
		return nil
	}
	f := fieldsFrom(r)
	var why []string
	gs := sp.want(r, &why)
	name, err := sp.un.next(ctx, r)
	if err != nil {
		return err
	}
	if !r.StartDate.IsZero() && r.StartDate.After(sp.today) {
		why = append(why, "starts "+directory.FormatDate(r.StartDate)+": created now, let in from that day")
	}
	sp.p.Changes = append(sp.p.Changes, Change{Kind: KindStart, MISID: r.MISID, Username: name, Set: &f, Join: sortedKeys(gs), Why: why})
	return nil
}

// planAccount plans a record against its account: a leaver, a return, a
// hold, or a move.
func (sp *syncPlan) planAccount(r Record, a *directory.Account, leaver bool) {
	e, p := sp.e, sp.p
	f := fieldsFrom(r)
	var why []string
	gs := sp.want(r, &why)
	old := fieldsOf(*a)
	if f.StartDate == "" {
		f.StartDate = old.StartDate // a source without start dates (OneRoster) keeps the account's
	}
	if leaver {
		if a.Status == directory.StatusDisabled {
			return
		}
		if f.LeaveDate == "" {
			f.setLeaveToday(sp.today)
		}
		c := Change{Kind: KindLeave, MISID: r.MISID, Username: a.Username, AccountID: a.ID, Set: &f}
		c.Why = append(c.Why, leaverWhy(r)...)
		e.leave(&c, *a, f, sp.now, r.LeaveDate.IsZero())
		if !c.Disable && old == f {
			return // already leaving on that date: the leaver job ends access
		}
		p.Changes = append(p.Changes, c)
		return
	}
	join, part := diffGroups(sp.st.member[a.ID], gs)
	why = append(why, diffFields(old, f)...)
	if a.Status == directory.StatusDisabled {
		if !strings.HasPrefix(a.DisableReason, leftReason) {
			p.Changes = append(p.Changes, Change{Kind: KindHold, MISID: r.MISID, Username: a.Username, AccountID: a.ID,
				Why: []string{"on roll but disabled by hand (" + a.DisableReason + "): enable it by hand if that was a mistake"}})
			return
		}
		p.Changes = append(p.Changes, Change{Kind: KindReturn, MISID: r.MISID, Username: a.Username, AccountID: a.ID,
			Set: &f, Join: join, Part: part, Enable: true, Why: append([]string{"back on roll: re-enabled with the same username"}, why...)})
		return
	}
	if len(why) == 0 && len(join) == 0 && len(part) == 0 {
		return
	}
	c := Change{Kind: KindMove, MISID: r.MISID, Username: a.Username, AccountID: a.ID, Join: join, Part: part, Why: why}
	if old != f {
		c.Set = &f
	}
	if f.LeaveDate != "" && !e.Policy.AccessEnd(accountWith(*a, f)).After(sp.now) {
		// A leave date already passed (with its grace): a leaver now.
		c.Kind = KindLeave
		e.leave(&c, *a, f, sp.now, false)
	}
	p.Changes = append(p.Changes, c)
}

// planMissing plans the people not in the export. Only a bulk export says
// who is not on roll; a delta carries the counts forward.
func (sp *syncPlan) planMissing() {
	st, p := sp.st, sp.p
	p.Missing = map[string]int{}
	if sp.exp.Delta {
		for id, n := range st.missing {
			if !sp.present[id] {
				p.Missing[id] = n
			}
		}
		return
	}
	ids := make([]string, 0, len(st.byMIS))
	for id, a := range st.byMIS {
		// One already given a leave date is the leaver job's to end.
		if !sp.present[id] && a.Status == directory.StatusActive && a.LeaveDate.IsZero() && !sp.elsewhere(a) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := st.byMIS[id]
		n := st.missing[id] + 1
		if n < sp.e.Policy.missingRuns() {
			p.Missing[id] = n
			p.Changes = append(p.Changes, Change{Kind: KindMissing, MISID: id, Username: a.Username, AccountID: a.ID,
				Why: []string{fmt.Sprintf("not in this export (%d of %d runs before becoming a leaver)", n, sp.e.Policy.missingRuns())}})
			continue
		}
		f := fieldsOf(*a)
		if f.LeaveDate == "" {
			f.setLeaveToday(sp.today)
		}
		c := Change{Kind: KindLeave, MISID: id, Username: a.Username, AccountID: a.ID, Set: &f,
			Why: []string{fmt.Sprintf("absent from %d bulk exports in a row", n)}}
		sp.e.leave(&c, *a, f, sp.now, a.LeaveDate.IsZero())
		p.Changes = append(p.Changes, c)
	}
}
