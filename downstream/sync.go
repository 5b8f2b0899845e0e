package downstream

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// Config is what a Sync runs from.
type Config struct {
	// Name is the downstream directory's short name ("ad").
	Name string
	// Open connects to the downstream directory for one run.
	Open func(ctx context.Context) (Target, error)
	// Roles are the roles whose accounts the directory holds (default
	// staff and pupil).
	Roles []directory.Role
	// GroupKinds are the kinds of Keystage group it mirrors (default role,
	// year and reg).
	GroupKinds []directory.GroupKind
	// MassChange is the share of the objects Keystage owns there that one
	// run may disable or delete before it is refused (default 0.05), as
	// the MIS sync's breaker.
	MassChange float64
	// Every is how often the scheduled run plans and applies (0: only
	// when asked); PasswordsEvery how often the passwords waiting are
	// pushed (default 10 s).
	Every          time.Duration
	PasswordsEvery time.Duration
}

// Sync drives one downstream directory from the directory.
type Sync struct {
	dir    *directory.Directory
	cfg    Config
	log    *slog.Logger
	locker directory.JobLocker // nil: one process, no lock needed
}

// NewSync returns the Sync of cfg over d.
func NewSync(d *directory.Directory, cfg Config, log *slog.Logger) *Sync {
	if len(cfg.Roles) == 0 {
		cfg.Roles = []directory.Role{directory.RoleStaff, directory.RolePupil}
	}
	if len(cfg.GroupKinds) == 0 {
		cfg.GroupKinds = []directory.GroupKind{directory.GroupRole, directory.GroupYear, directory.GroupReg}
	}
	if cfg.MassChange <= 0 {
		cfg.MassChange = 0.05
	}
	if cfg.PasswordsEvery <= 0 {
		cfg.PasswordsEvery = 10 * time.Second
	}
	if log == nil {
		log = d.Log()
	}
	s := &Sync{dir: d, cfg: cfg, log: log}
	s.locker, _ = d.Store().(directory.JobLocker)
	return s
}

// Name is the downstream directory's short name.
func (s *Sync) Name() string { return s.cfg.Name }

// Want is what the downstream directory should hold now.
func (s *Sync) Want(ctx context.Context) (Want, error) {
	st := s.dir.Store()
	now := s.dir.Now()
	policy := s.dir.Gate().Policy
	var w Want
	have := map[string]bool{}
	for _, role := range s.cfg.Roles {
		after := int64(0)
		for {
			page, err := st.ListAccounts(ctx, directory.AccountQuery{Role: role, AfterID: after, Limit: 500})
			if err != nil {
				return w, fmt.Errorf("want: %w", err)
			}
			for _, a := range page {
				sus, err := st.Suspensions(ctx, a.ID)
				if err != nil {
					return w, fmt.Errorf("want %s: %w", a.Username, err)
				}
				ok, why := WindowsLogin(policy, a, sus, now)
				for _, x := range sus {
					if !x.LiftedAt.IsZero() || !SuspensionDisablesWindows(x) {
						continue
					}
					for _, at := range []time.Time{x.From, x.Until} {
						if at.After(now) && (w.NextChange.IsZero() || at.Before(w.NextChange)) {
							w.NextChange = at
						}
					}
				}
				w.Entries = append(w.Entries, Entry{AccountID: a.ID, UUID: a.UUID, Username: a.Username, MISID: a.MISID,
					GivenName: a.GivenName, FamilyName: a.FamilyName, DisplayName: a.Name(), Email: a.Email,
					Role: a.Role, YearGroup: a.YearGroup, School: a.School, Exists: a.Status == directory.StatusActive, Enabled: ok, Why: why})
				have[a.Username] = true
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	// Accounts of the other roles: their objects (a member of staff who
	// became a guest, say) are disabled, never deleted.
	w.Unmirrored = map[string]bool{}
	for _, role := range []directory.Role{directory.RoleStaff, directory.RolePupil, directory.RoleGuest, directory.RoleService} {
		if slices.Contains(s.cfg.Roles, role) {
			continue
		}
		after := int64(0)
		for {
			page, err := st.ListAccounts(ctx, directory.AccountQuery{Role: role, AfterID: after, Limit: 500})
			if err != nil {
				return w, fmt.Errorf("want: %w", err)
			}
			for _, a := range page {
				w.Unmirrored[strings.ToLower(a.UUID)] = true
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	for _, kind := range s.cfg.GroupKinds {
		after := int64(0)
		for {
			page, err := st.ListGroups(ctx, directory.GroupQuery{Kind: kind, AfterID: after, Limit: 500})
			if err != nil {
				return w, fmt.Errorf("want groups: %w", err)
			}
			for _, g := range page {
				members, err := st.Members(ctx, g.ID)
				if err != nil {
					return w, fmt.Errorf("want group %s: %w", g.Name, err)
				}
				members = slices.DeleteFunc(members, func(u string) bool { return !have[u] })
				w.Groups = append(w.Groups, Group{Name: g.Name, Description: g.Description, Members: members})
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	return w, nil
}

// Plan connects, reads the downstream directory and plans the changes
// that make it hold what Keystage holds, held to the breakers; it changes
// nothing. The Target stays open for Apply; close it when done.
func (s *Sync) Plan(ctx context.Context, adopt bool) (*Plan, Target, error) {
	w, err := s.Want(ctx)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.cfg.Open(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.cfg.Name, err)
	}
	p, err := t.Plan(ctx, w, adopt)
	if err != nil {
		t.Close()
		return nil, nil, fmt.Errorf("%s plan: %w", s.cfg.Name, err)
	}
	p.Downstream, p.At, p.NextChange = s.cfg.Name, s.dir.Now(), w.NextChange
	s.breakers(p)
	return p, t, nil
}

// breakers refuse a plan that disables or deletes more than the allowed
// share of the objects Keystage owns in the downstream directory: an MIS
// export cut short, or a mistake in the configuration, would otherwise
// lock a school out of its PCs.
func (s *Sync) breakers(p *Plan) {
	if p.Managed == 0 {
		return
	}
	n := p.Counts()
	var why []string
	for _, k := range []Kind{KindDisable, KindDelete} {
		if c := n[string(k)]; float64(c) > s.cfg.MassChange*float64(p.Managed) {
			why = append(why, fmt.Sprintf("it would %s %d of the %d accounts Keystage owns in %s (%.1f%%), more than the %.0f%% allowed",
				k, c, p.Managed, s.cfg.Name, 100*float64(c)/float64(p.Managed), 100*s.cfg.MassChange))
		}
	}
	if len(why) > 0 {
		p.Blocked = strings.Join(why, "; ") + ": check the directory and the configuration, then run again with --allow-mass-change if these changes are right"
	}
}

// Result is what an apply did.
type Result struct {
	Applied int
	Failed  []string // "kind name: error", one per change that failed
	Counts  map[string]int
}

// Apply carries out p through t, change by change: the downstream
// directory has no transactions, so each change that succeeds is recorded
// in the audit trail (action "NAME.KIND", e.g. "ad.disable") and one that
// fails is logged and left for the next run, which plans it again. The run
// ends with a SyncRun of kind NAME and the event "NAME.apply".
func (s *Sync) Apply(ctx context.Context, t Target, p *Plan, actor string) (Result, error) {
	if p.Blocked != "" && !p.AllowMassChange {
		return Result{}, fmt.Errorf("%s apply: %w: %s", s.cfg.Name, ErrMassChange, p.Blocked)
	}
	started := s.dir.Now()
	res := Result{Counts: map[string]int{}}
	for _, c := range p.Changes {
		if c.Kind == KindLeft || c.Apply == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := c.Apply(ctx); err != nil {
			res.Failed = append(res.Failed, fmt.Sprintf("%s %s: %v", c.Kind, c.label(), err))
			s.log.Error("downstream change failed; the next run tries again", "downstream", s.cfg.Name, "kind", c.Kind, "name", c.label(), "err", err)
			continue
		}
		res.Applied++
		res.Counts[string(c.Kind)]++
		if err := s.dir.RecordEvent(ctx, actor, s.action(string(c.Kind)), c.target(), nil, c.shown()); err != nil {
			return res, fmt.Errorf("%s apply: recording %s %s: %w", s.cfg.Name, c.Kind, c.label(), err)
		}
	}
	run := directory.SyncRun{Kind: s.cfg.Name, Source: s.cfg.Name, StartedAt: started, FinishedAt: s.dir.Now(), Applied: true, Counts: res.Counts, Actor: actor}
	err := s.dir.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSyncRun(ctx, &run); err != nil {
			return err
		}
		return s.dir.Record(ctx, tx, actor, audit.JobApplied(s.cfg.Name), audit.Target(audit.KindJob, s.cfg.Name), nil,
			map[string]any{"counts": res.Counts, "failed": len(res.Failed), "mass_change_allowed": p.Blocked != ""})
	})
	if err != nil {
		return res, fmt.Errorf("%s apply: %w", s.cfg.Name, err)
	}
	if len(res.Failed) > 0 {
		return res, fmt.Errorf("%s apply: %d of %d changes failed (the next run tries them again): %s",
			s.cfg.Name, len(res.Failed), len(res.Failed)+res.Applied, strings.Join(res.Failed, "; "))
	}
	return res, nil
}

// action is the audit action of a change of kind in this directory.
func (s *Sync) action(kind string) audit.Action {
	return audit.Action(s.cfg.Name + "." + strings.ReplaceAll(kind, "-", "_"))
}

func (c Change) label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.DN
}

// target is the audit target of a change: the account or group it is
// about, so that a person's subject-access export shows what was done to
// them downstream.
func (c Change) target() string {
	switch c.Kind {
	case KindGroupCreate, KindGroupMembers, KindGroupDelete:
		return audit.Target(audit.KindGroup, c.Name)
	case KindOU:
		return audit.Target("ou", c.DN)
	}
	return audit.AccountTarget(c.Name)
}

// shown is what the audit event records of a change: never a secret.
func (c Change) shown() map[string]any {
	m := map[string]any{"dn": c.DN}
	if c.NewDN != "" {
		m["new_dn"] = c.NewDN
	}
	if len(c.Fields) > 0 {
		m["fields"] = c.Fields
	}
	if c.Why != "" {
		m["why"] = c.Why
	}
	return m
}
