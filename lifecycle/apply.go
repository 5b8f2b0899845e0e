package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// Apply carries out exactly the plan, in one transaction with its audit
// events, and records the run. It refuses a plan made from a directory
// that has changed since (ErrStale) and a blocked plan without
// AllowMassChange (ErrMassChange). actor is who applied it; the account
// changes themselves are recorded as made by the job ("sync",
// "leavers"). Accounts disabled lose their live sessions once the
// transaction has committed.
func (e *Engine) Apply(ctx context.Context, p *Plan, actor string) (directory.SyncRun, error) {
	if p.Version != PlanVersion || (p.Job != "sync" && p.Job != "leavers") {
		return directory.SyncRun{}, fmt.Errorf("apply: %w (version %d, job %q): make a new plan", ErrBadPlan, p.Version, p.Job)
	}
	if p.Blocked != "" && !p.AllowMassChange {
		return directory.SyncRun{}, fmt.Errorf("apply: %w: %s", ErrMassChange, p.Blocked)
	}
	if p.Job == "leavers" && p.AsOf.After(e.Dir.Now()) {
		return directory.SyncRun{}, fmt.Errorf("apply: %w: the leaver plan is as of %s, which has not come yet: a plan for a date to come is a preview; run the leaver job on the day (or without --as-of)",
			ErrBadPlan, p.AsOf.In(e.Policy.loc()).Format("2006-01-02 15:04"))
	}
	started := e.Dir.Now()
	var (
		run   directory.SyncRun
		ended []directory.Account
	)
	err := e.Dir.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		ended = ended[:0]
		st, err := load(ctx, tx, nil)
		if err != nil {
			return err
		}
		if st.fingerprint() != p.Fingerprint {
			return ErrStale
		}
		if err := st.holdPurged(ctx, tx, e.retentionSince(e.Dir.Now())); err != nil {
			return err
		}
		a := applier{e: e, tx: tx, st: st, job: p.Job, now: e.Dir.Now(), groups: map[string]int64{}, school: p.School}
		for n, g := range st.groups {
			a.groups[n] = g.ID
		}
		for _, g := range p.Groups {
			if err := a.createGroup(ctx, g); err != nil {
				return err
			}
		}
		for i, c := range p.Changes {
			if i%1000 == 0 {
				e.progress("applying", i, len(p.Changes))
			}
			acct, err := a.change(ctx, c)
			if err != nil {
				return fmt.Errorf("%s %s: %w", c.Kind, c.Username, err)
			}
			if c.Disable {
				ended = append(ended, acct)
			}
		}
		e.progress("applying", len(p.Changes), len(p.Changes))
		if p.Job == "sync" {
			if err := tx.ReplaceSyncRefusals(ctx, p.Refused); err != nil {
				return err
			}
			if err := tx.ReplaceMissingRuns(ctx, p.Missing); err != nil {
				return err
			}
		}
		run = directory.SyncRun{Kind: p.Job, Source: p.Source, StartedAt: started, FinishedAt: e.Dir.Now(), Applied: true,
			Counts: p.Counts(), Rows: p.Rows, Watermark: p.Watermark, Actor: actor}
		if err := tx.AddSyncRun(ctx, &run); err != nil {
			return err
		}
		return e.Dir.Record(ctx, tx, actor, audit.JobApplied(p.Job), audit.Target(audit.KindJob, p.Job), nil, map[string]any{
			"source": p.Source, "counts": run.Counts, "rows": p.Rows, "watermark": p.Watermark,
			"fingerprint": p.Fingerprint, "mass_change_allowed": p.Blocked != ""})
	})
	if err != nil {
		if errors.Is(err, ErrStale) {
			return run, fmt.Errorf("apply: %w: make a new plan and check it", err)
		}
		return run, fmt.Errorf("apply %s plan: %w", p.Job, err)
	}
	for _, a := range ended {
		e.Dir.EndAccess(ctx, a)
	}
	return run, nil
}

// applier carries out one plan inside its transaction.
type applier struct {
	e      *Engine
	tx     directory.Tx
	st     *state
	job    string
	now    time.Time
	groups map[string]int64
	school string // a school's plan: its starters are made there
}

func (a *applier) record(ctx context.Context, action audit.Action, target string, before, after any) error {
	return a.e.Dir.Record(ctx, a.tx, a.job, action, target, before, after)
}

func (a *applier) createGroup(ctx context.Context, ng NewGroup) error {
	if _, ok := a.groups[ng.Name]; ok {
		return fmt.Errorf("group %s: %w", ng.Name, ErrStale)
	}
	g := directory.Group{Name: ng.Name, Kind: ng.Kind, Source: directory.SourceMIS, MISID: ng.MISID, Description: ng.Description}
	if err := a.tx.CreateGroup(ctx, &g); err != nil {
		return err
	}
	a.groups[g.Name] = g.ID
	return a.record(ctx, audit.ActionGroupCreate, audit.Target(audit.KindGroup, g.Name), nil, map[string]any{"name": g.Name, "kind": g.Kind, "gid_number": g.GIDNumber})
}

// change carries out one change and records its audit event, returning the
// account as it now stands.
func (a *applier) change(ctx context.Context, c Change) (directory.Account, error) {
	switch c.Kind {
	case KindMissing, KindHold, KindSkip, KindLegalHold:
		return directory.Account{}, nil
	case KindStart:
		return a.start(ctx, c)
	case KindPurge:
		return a.purge(ctx, c)
	case KindDual, KindDualEnd, KindAdopt:
		return a.dual(ctx, c)
	}
	old, ok := a.st.byMIS[c.MISID]
	if !ok || old.ID != c.AccountID {
		return directory.Account{}, ErrStale
	}
	acct, err := a.tx.UpdateAccount(ctx, c.AccountID, func(x *directory.Account) error {
		if c.Set != nil {
			c.Set.put(x)
		}
		switch {
		case c.Disable:
			x.Status, x.DisabledAt = directory.StatusDisabled, a.now
			x.DisableReason = leftReason + "leave date " + directory.FormatDate(x.LeaveDate)
		case c.Enable:
			x.Status, x.DisabledAt, x.DisableReason = directory.StatusActive, time.Time{}, ""
		}
		return nil
	})
	if err != nil {
		return acct, err
	}
	if err := a.memberships(ctx, acct.ID, c); err != nil {
		return acct, err
	}
	if c.Disable {
		if err := directory.RevokeWiFiCredentials(ctx, a.tx, acct.ID, a.now); err != nil {
			return acct, err
		}
	}
	action := audit.ActionAccountUpdate
	switch {
	case c.Disable:
		action = audit.ActionAccountDisable
	case c.Enable:
		action = audit.ActionAccountEnable
	}
	return acct, a.record(ctx, action, audit.AccountTarget(acct.Username), old.Snapshot(), changeAfter(acct, c))
}

func changeAfter(acct directory.Account, c Change) map[string]any {
	m := map[string]any{"account": acct.Snapshot(), "kind": c.Kind}
	if len(c.Join) > 0 {
		m["joined"] = c.Join
	}
	if len(c.Part) > 0 {
		m["left"] = c.Part
	}
	return m
}

func (a *applier) start(ctx context.Context, c Change) (directory.Account, error) {
	if c.Set == nil {
		return directory.Account{}, ErrBadPlan
	}
	if _, ok := a.st.byMIS[c.MISID]; ok {
		return directory.Account{}, ErrStale
	}
	// A username taken or purged since the plan was made (by hand: the
	// fingerprint covers the MIS's own accounts) spoils the plan.
	if a.st.names[c.Username] {
		return directory.Account{}, fmt.Errorf("username %s was taken meanwhile: %w", c.Username, ErrStale)
	}
	a.st.names[c.Username] = true
	acct := directory.Account{Username: c.Username, Source: directory.SourceMIS, MISID: c.MISID, Status: directory.StatusActive, School: a.school}
	c.Set.put(&acct)
	if err := a.tx.CreateAccount(ctx, &acct); err != nil {
		return acct, err
	}
	if err := a.memberships(ctx, acct.ID, c); err != nil {
		return acct, err
	}
	return acct, a.record(ctx, audit.ActionAccountCreate, audit.AccountTarget(acct.Username), nil, changeAfter(acct, c))
}

func (a *applier) purge(ctx context.Context, c Change) (directory.Account, error) {
	old, ok := a.st.byMIS[c.MISID]
	if !ok || old.ID != c.AccountID {
		return directory.Account{}, ErrStale
	}
	// Retention counts from the day the account was really disabled, up
	// to now, whatever the plan was made as of: a purge cannot be undone.
	if old.Status != directory.StatusDisabled || a.e.Policy.Retention <= 0 || old.DisabledAt.IsZero() || old.DisabledAt.Add(a.e.Policy.Retention).After(a.now) {
		return *old, fmt.Errorf("%w: account %s was disabled %s, and its retention period (%s) has not passed: make a new plan",
			ErrBadPlan, old.Username, directory.FormatDate(old.DisabledAt), retentionWords(a.e.Policy.Retention))
	}
	// A legal hold set since the plan was made keeps the records: the
	// check is in the transaction that would delete them.
	holds, err := a.tx.LegalHolds(ctx, old.ID)
	if err != nil {
		return *old, err
	}
	for _, h := range holds {
		if h.Open() {
			return *old, fmt.Errorf("%w: account %s is under a legal hold (%s, set %s): it is not purged while the hold is open; make a new plan",
				ErrBadPlan, old.Username, h.Kind, directory.FormatDate(h.SetAt))
		}
	}
	if err := a.tx.DeleteAccount(ctx, old.ID); err != nil {
		return *old, err
	}
	// The snapshot stays in the audit trail: who held the username, when
	// they left and when they were purged.
	return *old, a.record(ctx, audit.ActionAccountPurge, audit.AccountTarget(old.Username), old.Snapshot(), map[string]any{"purged": true, "reason": c.Why})
}

func (a *applier) memberships(ctx context.Context, id int64, c Change) error {
	for _, g := range c.Join {
		gid, ok := a.groups[g]
		if !ok {
			return fmt.Errorf("group %s: %w", g, ErrStale)
		}
		if err := a.tx.AddMember(ctx, gid, id); err != nil {
			return err
		}
	}
	for _, g := range c.Part {
		gid, ok := a.groups[g]
		if !ok {
			return fmt.Errorf("group %s: %w", g, ErrStale)
		}
		if err := a.tx.RemoveMember(ctx, gid, id); err != nil {
			return err
		}
	}
	return nil
}
