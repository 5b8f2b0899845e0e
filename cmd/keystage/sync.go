package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/private"
)

// jobFlags are the plan-then-apply flags that sync and leavers share.
type jobFlags struct {
	apply, allow bool
	out, plan    string
}

func (j *jobFlags) register(fs interface {
	BoolVar(*bool, string, bool, string)
	StringVar(*string, string, string, string)
}) {
	fs.BoolVar(&j.apply, "apply", false, "carry out the plan printed (without it nothing changes)")
	fs.StringVar(&j.out, "out", "", "write the plan to this `file` (JSON) for review")
	fs.StringVar(&j.plan, "plan", "", "apply the reviewed plan in this `file` (refused if the directory changed since)")
	fs.BoolVar(&j.allow, "allow-mass-change", false, "apply even a plan that disables more than the configured share, or lost rows")
}

func (j *jobFlags) writes() bool { return j.apply || j.plan != "" }

// engine opens the store and puts the lifecycle engine together over it.
func (e *env) engine(write bool) (*lifecycle.Engine, *sqlstore.Store, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, nil, err
	}
	s, err := e.openStore(!write)
	if err != nil {
		return nil, nil, err
	}
	return newEngine(e.directory(s), cfg), s, nil
}

func cmdSync(e *env, args []string) error {
	fs := e.newFlags("sync", "[--from oneroster:PATH|csv:PATH] [--school ID] [--apply] [--out plan.json] [--plan plan.json] [--allow-mass-change]")
	var j jobFlags
	j.register(fs)
	from := fs.String("from", "", "the MIS export: oneroster:PATH (folder or .zip) or csv:PATH (default: sync.source)")
	school := fs.String("school", "", "a trust: sync this school alone (default: each school on its own)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if len(cfg.Schools) > 0 {
		return syncSchools(e, cfg, j, *from, *school)
	}
	if *school != "" {
		return usagef("--school: no [[schools]] are configured (a single school syncs whole)")
	}
	if *from == "" {
		*from = cfg.Sync.Source
	}
	if *from == "" && j.plan == "" {
		return usagef("name the export: --from oneroster:PATH or csv:PATH (or set sync.source)")
	}
	eng, s, err := e.engine(j.writes())
	if err != nil {
		return err
	}
	defer s.Close()
	bar := newProgress(e.stderr)
	eng.Progress = bar.update
	defer bar.finish()
	plan := func() (*lifecycle.Plan, error) {
		return eng.PlanFrom(e.ctx, *from, cfg.Sync.readOptions(cfg.Location()), j.allow)
	}
	return runJob(e, eng, bar, "sync", j, plan)
}

func cmdLeavers(e *env, args []string) error {
	fs := e.newFlags("leavers", "[--as-of DATE] [--apply] [--out plan.json] [--plan plan.json] [--allow-mass-change]")
	var j jobFlags
	j.register(fs)
	asOf := fs.String("as-of", "", "plan as at the start of this `date` (YYYY-MM-DD; default now)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	eng, s, err := e.engine(j.writes())
	if err != nil {
		return err
	}
	defer s.Close()
	at := time.Now()
	if *asOf != "" {
		d, err := directory.ParseDate(*asOf)
		if err != nil {
			return usagef("--as-of: %v", err)
		}
		at = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, cfg.Location())
		if j.writes() && at.After(time.Now()) {
			// A date to come would end access early and purge accounts
			// whose retention has not passed: a preview only.
			return usagef("--as-of %s is still to come: a leaver plan for a date to come is a preview only; drop --apply to see it, or run the leaver job on the day", *asOf)
		}
	}
	bar := newProgress(e.stderr)
	eng.Progress = bar.update
	defer bar.finish()
	return runJob(e, eng, bar, "leavers", j, func() (*lifecycle.Plan, error) {
		return eng.PlanLeavers(e.ctx, at, lifecycle.SyncOptions{AllowMassChange: j.allow})
	})
}

// runJob makes the plan (or reads a reviewed one), prints it, saves it and
// applies it as the flags say.
func runJob(e *env, eng *lifecycle.Engine, bar *progress, job string, j jobFlags, plan func() (*lifecycle.Plan, error)) error {
	var (
		p   *lifecycle.Plan
		err error
	)
	if j.plan != "" {
		if p, err = readPlan(j.plan, job); err != nil {
			return err
		}
		p.AllowMassChange = p.AllowMassChange || j.allow
	} else if p, err = plan(); err != nil {
		return err
	}
	bar.finish()
	if err := p.WriteText(e.stdout); err != nil {
		return err
	}
	if j.out != "" {
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return err
		}
		if err := private.WriteFile(j.out, append(b, '\n')); err != nil {
			return fmt.Errorf("plan file: %w", err)
		}
		fmt.Fprintf(e.stdout, "\nPlan written to %s; apply it with keystage %s --plan %s\n", j.out, job, j.out)
	}
	if !j.writes() {
		if p.Blocked != "" && !p.AllowMassChange {
			fmt.Fprintln(e.stdout, "\nThis plan is refused as it stands; nothing was changed.")
			return errSilent
		}
		if j.out == "" {
			fmt.Fprintf(e.stdout, "\nNothing was changed: run again with --apply to carry out this plan.\n")
		}
		return nil
	}
	run, err := eng.Apply(e.ctx, p, e.actor())
	bar.finish()
	if err != nil {
		return fmt.Errorf("%w; nothing was changed", err)
	}
	if p.Blocked != "" {
		// Apply took it only because the override was given: say so, as
		// the run's audit event does (mass_change_allowed).
		fmt.Fprintf(e.stdout, "\nApplied with --allow-mass-change, over the mass-change limit: run %d recorded, with the override in its audit event.\n", run.ID)
		return nil
	}
	fmt.Fprintf(e.stdout, "\nApplied: run %d recorded.\n", run.ID)
	return nil
}

func readPlan(path, job string) (*lifecycle.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plan file: %w", err)
	}
	var p lifecycle.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("plan file %s is not a plan (%v): make one with keystage %s --out FILE", path, err, job)
	}
	if p.Job != job {
		return nil, fmt.Errorf("plan file %s is a %q plan: apply it with keystage %s --plan %s", path, p.Job, p.Job, path)
	}
	return &p, nil
}
