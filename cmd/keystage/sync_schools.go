package main

import (
	"errors"
	"fmt"
	"slices"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
)

// syncSchools is keystage sync for a trust: each school planned, printed
// and applied on its own, so that one school's missing export or mass
// change stops that school alone. --from is the trust-wide export (split
// by the schools' org_ids) in place of [sync] source; a school with a
// source of its own reads that. A plan file is one school's: --out and
// --plan need --school.
func syncSchools(e *env, cfg *Config, j jobFlags, from, school string) error {
	if from == "" {
		from = cfg.Sync.Source
	}
	sources := cfg.schoolSources()
	if school != "" {
		if err := cfg.checkSchool(school, false); err != nil {
			return usagef("--school: %v", err)
		}
		sources = slices.DeleteFunc(sources, func(s lifecycle.SchoolSource) bool { return s.School != school })
	} else if j.out != "" || j.plan != "" {
		return usagef("--out and --plan are one school's plan: add --school ID")
	}
	// A school's staff sync their own school only.
	s0, err := e.openStore(true)
	if err != nil {
		return err
	}
	scope, err := e.actingScope(s0)
	s0.Close()
	if err != nil {
		return err
	}
	if !scope.Trust() {
		if school != "" && school != scope.School {
			return fmt.Errorf("sync school %s: you act for school %s: %w", school, scope.School, directory.ErrOutOfScope)
		}
		sources = slices.DeleteFunc(sources, func(s lifecycle.SchoolSource) bool { return s.School != scope.School })
	}
	s, err := e.openStore(!j.writes())
	if err != nil {
		return err
	}
	defer s.Close()
	// The sync sees the whole trust (usernames are unique across it); the
	// schools it plans are bounded above.
	eng := newEngine(e.trustDirectory(s, nil), cfg)
	bar := newProgress(e.stderr)
	eng.Progress = bar.update
	defer bar.finish()
	if j.plan != "" {
		// The plan file must be the named school's (and so the acting
		// person's): a plan names the school it was made for.
		p, err := readPlan(j.plan, "sync")
		if err != nil {
			return err
		}
		if p.School != school {
			return fmt.Errorf("plan file %s is school %q's, not %s's: %w", j.plan, p.School, school, directory.ErrOutOfScope)
		}
		return runJob(e, eng, bar, "sync", j, nil)
	}
	exps, errs := lifecycle.SchoolExports(e.ctx, from, cfg.Sync.readOptions(cfg.Location()), sources)
	var failed []string
	for i, exp := range exps {
		name := sources[i].School
		fmt.Fprintf(e.stdout, "== %s\n", schoolLine(cfg, name))
		if errs[i] != nil {
			fmt.Fprintf(e.stdout, "Not synced: %v\n\n", errs[i])
			failed = append(failed, name)
			continue
		}
		// Planned and applied before the next school is planned.
		plan := func() (*lifecycle.Plan, error) {
			return eng.PlanSync(e.ctx, exp, lifecycle.SyncOptions{AllowMassChange: j.allow, School: name})
		}
		if err := runJob(e, eng, bar, "sync", j, plan); err != nil {
			if !errors.Is(err, errSilent) {
				fmt.Fprintf(e.stdout, "Not synced: %v\n", err)
			}
			failed = append(failed, name)
		}
		fmt.Fprintln(e.stdout)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d schools not synced (%v); the others were", len(failed), len(exps), failed)
	}
	return nil
}
