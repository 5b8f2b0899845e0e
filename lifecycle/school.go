package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// A school's sync (SyncOptions.School) plans one school of a trust on its
// own: its starters are made at the school, its missing people are only
// the school's own, its mass-change breakers weigh the school's accounts,
// and its watermark, last run and refusal queue are those of its own
// export (the plan's Source). Another school's people in its export are
// passed over; the other schools' missing-run counts and refusals are
// carried forward untouched. So a school whose export is missing or late
// changes nothing anywhere else.

// scopeTo narrows a loaded state to one school. The fingerprint is made
// before, from the whole directory, as Apply makes it.
func (st *state) scopeTo(ctx context.Context, r directory.Reader, school, source string) error {
	var ours []*directory.Account
	for _, a := range st.accounts {
		if a.School == school {
			ours = append(ours, a)
		}
	}
	st.accounts = ours
	runs, err := r.SyncRuns(ctx, "sync", 500)
	if err != nil {
		return err
	}
	st.lastSync = nil
	for i := range runs {
		if runs[i].Applied && runs[i].Source == source {
			st.lastSync = &runs[i]
			break
		}
	}
	return nil
}

// elsewhere reports whether a belongs to another school than the one planned.
func (sp *syncPlan) elsewhere(a *directory.Account) bool {
	return sp.school != "" && a.School != sp.school
}

// passOver plans a record whose account is at another school. An active
// account of another school on this school's roll too is registered here
// as well (KindDual: one account in both scopes); its own school's sync
// keeps its attributes and groups, and a move between schools is made by
// hand (keystage account transfer). It is never missing from this one.
func (sp *syncPlan) passOver(r Record, a *directory.Account) {
	switch {
	case a.School == "":
		sp.skipped = append(sp.skipped, Change{Kind: KindSkip, MISID: r.MISID, Username: a.Username, AccountID: a.ID,
			Why: []string{"one of the trust's own accounts: not a school's sync to change"}})
	case a.InSchool(sp.school) || a.Status != directory.StatusActive || r.Deleted || r.Disabled:
		// Registered here already, or not to be registered: its own school's sync keeps it.
	default:
		sp.p.Changes = append(sp.p.Changes, Change{Kind: KindDual, MISID: r.MISID, Username: a.Username, AccountID: a.ID,
			Why: []string{fmt.Sprintf("on the roll of school %s too: registered at %s as well; its own school's sync keeps its details (keystage account transfer %s --to %s moves it)",
				a.School, sp.school, a.Username, sp.school)}})
	}
}

// dual registers an account at the plan's school as well.
func (a *applier) dual(ctx context.Context, c Change) (directory.Account, error) {
	old, ok := a.st.byMIS[c.MISID]
	if !ok || old.ID != c.AccountID || a.school == "" {
		return directory.Account{}, ErrStale
	}
	acct, err := a.tx.UpdateAccount(ctx, c.AccountID, func(x *directory.Account) error {
		also := append(slices.Clone(x.AlsoSchools), a.school)
		if c.Kind == KindDualEnd {
			also = slices.DeleteFunc(also, func(s string) bool { return s == a.school })
		}
		x.AlsoSchools = directory.ParseSchools(directory.FormatSchools(also))
		return nil
	})
	if err != nil {
		return acct, err
	}
	return acct, a.record(ctx, audit.ActionAccountSchools, audit.AccountTarget(acct.Username), old.Snapshot(), changeAfter(acct, c))
}

// carryForward keeps the other schools' missing-run counts and refusals
// in a school's plan, which replaces both when applied.
func (sp *syncPlan) carryForward(p *Plan, others []directory.SyncRefusal) {
	if sp.school == "" {
		return
	}
	for id, n := range sp.st.missing {
		if a := sp.st.byMIS[id]; a != nil && a.School != sp.school {
			if _, ok := p.Missing[id]; !ok {
				p.Missing[id] = n
			}
		}
	}
	p.Refused = append(p.Refused, others...)
	sort.SliceStable(p.Refused, func(i, j int) bool {
		if p.Refused[i].MISID != p.Refused[j].MISID {
			return p.Refused[i].MISID < p.Refused[j].MISID
		}
		return p.Refused[i].Line < p.Refused[j].Line
	})
}

// splitQueue parts the refusal queue into this export's and the others'.
func splitQueue(q []directory.SyncRefusal, source string) (ours, others []directory.SyncRefusal) {
	for _, x := range q {
		if x.Source == source {
			ours = append(ours, x)
		} else {
			others = append(others, x)
		}
	}
	return ours, others
}

// groupsFor are r's MIS groups, named for the school in a school's plan
// (directory.SchoolGroupName: north-7a), so that two schools' 7A stay two
// groups; the role groups stay the trust's.
func (sp *syncPlan) groupsFor(r Record) []NewGroup {
	gs := groupsFor(r)
	if sp.school == "" {
		return gs
	}
	for i := range gs {
		if !directory.RoleGroupName(gs[i].Name) {
			gs[i].Name = directory.SchoolGroupName(sp.school, gs[i].Name)
			gs[i].Description += " (" + sp.school + ")"
		}
	}
	return gs
}

// planDualEnds ends the dual registrations at the planned school of the
// accounts a bulk export no longer holds.
func (sp *syncPlan) planDualEnds() {
	if sp.school == "" || sp.exp.Delta {
		return
	}
	ids := make([]string, 0)
	for id, a := range sp.st.byMIS {
		if !sp.present[id] && a.School != sp.school && slices.Contains(a.AlsoSchools, sp.school) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := sp.st.byMIS[id]
		sp.p.Changes = append(sp.p.Changes, Change{Kind: KindDualEnd, MISID: id, Username: a.Username, AccountID: a.ID,
			Why: []string{fmt.Sprintf("no longer on the roll of %s: stays at school %s", sp.school, a.School)}})
	}
}
