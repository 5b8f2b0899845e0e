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
	case a.InSchool(sp.school) || a.Status != directory.StatusActive || r.Deleted || r.Disabled:
		// Registered here already, or not to be registered: its own school's sync keeps it.
	default:
		sp.p.Changes = append(sp.p.Changes, Change{Kind: KindDual, MISID: r.MISID, Username: a.Username, AccountID: a.ID,
			Why: []string{fmt.Sprintf("on the roll of school %s too: registered at %s as well; its own school's sync keeps its details (keystage account transfer %s --to %s moves it)",
				a.School, sp.school, a.Username, sp.school)}})
	}
}

// adopt plans to give the planned school an MIS account of no school that
// its export holds: one made before the trust's schools were configured.
// It is then planned as the school's own. The trust's own people are in
// no school's part of the export, so they are never adopted.
func (sp *syncPlan) adopt(r Record, a *directory.Account) bool {
	if sp.school == "" || a.School != "" {
		return false
	}
	sp.p.Changes = append(sp.p.Changes, Change{Kind: KindAdopt, MISID: r.MISID, Username: a.Username, AccountID: a.ID,
		Why: []string{fmt.Sprintf("on the roll of %s, and of no school yet (made before the trust's schools were configured): now %s's", sp.school, sp.school)}})
	return true
}

// dual registers an account at the plan's school as well (KindDual), ends
// that (KindDualEnd), or gives it the school (KindAdopt).
func (a *applier) dual(ctx context.Context, c Change) (directory.Account, error) {
	old, ok := a.st.byMIS[c.MISID]
	if !ok || old.ID != c.AccountID || a.school == "" {
		return directory.Account{}, ErrStale
	}
	acct, err := a.tx.UpdateAccount(ctx, c.AccountID, func(x *directory.Account) error {
		if c.Kind == KindAdopt {
			x.School = a.school
			return nil
		}
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
	action := audit.ActionAccountSchools
	if c.Kind == KindAdopt {
		action = audit.ActionAccountTransfer
	}
	return acct, a.record(ctx, action, audit.AccountTarget(acct.Username), old.Snapshot(), changeAfter(acct, c))
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
// groups; the role groups stay the trust's, and the school has its own
// beside them (north-staff, north-pupils).
func (sp *syncPlan) groupsFor(r Record) []NewGroup {
	gs := groupsFor(r)
	if sp.school == "" {
		return gs
	}
	for i, n := 0, len(gs); i < n; i++ {
		if directory.RoleGroupName(gs[i].Name) {
			// The trust's role group, and the school's own (north-pupils):
			// what a [[radius.policy]] names for the school's VLAN.
			gs = append(gs, NewGroup{Name: sp.school + "-" + gs[i].Name, Kind: directory.GroupRole,
				Description: gs[i].Description + " (" + sp.school + ")"})
			continue
		}
		gs[i].Name = directory.SchoolGroupName(sp.school, gs[i].Name)
		gs[i].Description += " (" + sp.school + ")"
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

// SchoolSource is where one of a trust's schools' people come from.
type SchoolSource struct {
	School string // its id
	// Source is the school's own export (oneroster:PATH or csv:PATH); ""
	// for its orgs in the trust's export.
	Source string
	OrgIDs []string // its OneRoster orgs in the trust's export
}

// SchoolExports reads each school's export: its own, or its part of the
// trust's export (read once, split by the schools' orgs: SplitByOrg). A
// school whose export cannot be read, or whose part is missing, has its
// error at its index in errs; the others are read all the same. Each is
// then planned with SyncOptions.School and applied before the next is
// planned (a plan holds for the directory it was made from).
func SchoolExports(ctx context.Context, trustSource string, read ReadOptions, schools []SchoolSource) ([]*Export, []error) {
	exps, errs := make([]*Export, len(schools)), make([]error, len(schools))
	var trust *Export
	var trustErr error
	for i, s := range schools {
		switch {
		case s.Source != "":
			src, err := Open(s.Source, read)
			if err == nil {
				exps[i], err = src.Read(ctx)
			}
			if err != nil {
				errs[i] = fmt.Errorf("school %s: %w", s.School, err)
			}
		case trustSource == "":
			errs[i] = fmt.Errorf("school %s: %w: it has no source of its own and [sync] names no trust-wide export", s.School, ErrUnknownSource)
		default:
			if trust == nil && trustErr == nil {
				r := read
				r.Orgs = true
				src, err := Open(trustSource, r)
				if err == nil {
					trust, err = src.Read(ctx)
				}
				trustErr = err
			}
			if trustErr != nil {
				errs[i] = fmt.Errorf("school %s: %w", s.School, trustErr)
				continue
			}
			exps[i], errs[i] = SplitByOrg(trust, s.School, s.OrgIDs)
		}
	}
	return exps, errs
}

// runSchools is the scheduled sync of a trust: each school planned and
// applied on its own, a school refused or failing leaving the others be.
func (j *Jobs) runSchools(ctx context.Context) string {
	exps, errs := SchoolExports(ctx, j.cfg.Source, j.cfg.Read, j.cfg.Schools)
	result := directory.ResultOK
	for i, exp := range exps {
		school := j.cfg.Schools[i].School
		var p *Plan
		if errs[i] == nil {
			p, errs[i] = j.eng.PlanSync(ctx, exp, SyncOptions{School: school})
		}
		switch {
		case errs[i] != nil:
			result = directory.ResultError
			j.log.Error("scheduled sync of a school could not plan: nothing changed there", "school", school, "err", errs[i])
		case p.Blocked != "":
			if result == directory.ResultOK {
				result = directory.ResultRefused
			}
			j.log.Error("scheduled sync of a school refused as a mass change: nothing changed there; a technician must check and run it by hand",
				"school", school, "reason", p.Blocked)
		default:
			run, err := j.eng.Apply(ctx, p, "schedule")
			if err != nil {
				result = directory.ResultError
				j.log.Error("scheduled sync of a school failed: nothing changed there", "school", school, "err", err)
				continue
			}
			j.log.Info("scheduled sync of a school applied", "school", school, "run", run.ID, "counts", run.Counts)
		}
	}
	return result
}

// PlanSchool plans one of the trust's schools' sync (the portal's sync for
// a school's technician): its export read, or split from the trust's, and
// planned with SyncOptions.School. Keep and ApplyKept apply it.
func (j *Jobs) PlanSchool(ctx context.Context, school string, allow bool) (*Plan, error) {
	for _, s := range j.cfg.Schools {
		if s.School != school {
			continue
		}
		exps, errs := SchoolExports(ctx, j.cfg.Source, j.cfg.Read, []SchoolSource{s})
		if errs[0] != nil {
			return nil, errs[0]
		}
		return j.eng.PlanSync(ctx, exps[0], SyncOptions{AllowMassChange: allow, School: school})
	}
	return nil, fmt.Errorf("school %q: not one of the trust's schools", school)
}
