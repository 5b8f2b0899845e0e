package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/portal"
)

// jobs runs the MIS sync and the leaver job for the portal and the
// schedule: it reads the configured source, makes plans, keeps them for
// the technician to confirm, and applies them.
type jobs struct {
	eng    *lifecycle.Engine
	cfg    *Config
	log    *slog.Logger
	mu     sync.Mutex
	plans  map[string]*lifecycle.Plan // by id, made in the portal and not yet applied
	order  []string
	locker directory.JobLocker // nil: one process, no lock needed
}

func newJobs(d *directory.Directory, cfg *Config, log *slog.Logger) *jobs {
	j := &jobs{eng: newEngine(d, cfg), cfg: cfg, log: log, plans: map[string]*lifecycle.Plan{}}
	j.locker, _ = d.Store().(directory.JobLocker)
	return j
}

// newEngine is the lifecycle engine over d, with the [sync] policy.
func newEngine(d *directory.Directory, cfg *Config) *lifecycle.Engine {
	return &lifecycle.Engine{Dir: d, Policy: cfg.Sync.policy(cfg.Location())}
}

// planSync reads the MIS export from (oneroster:PATH or csv:PATH) and
// plans the sync of it.
func planSync(ctx context.Context, eng *lifecycle.Engine, cfg *Config, from string, allow bool) (*lifecycle.Plan, error) {
	src, err := lifecycle.Open(from, cfg.Sync.readOptions(cfg.Location()))
	if err != nil {
		return nil, err
	}
	exp, err := src.Read(ctx)
	if err != nil {
		return nil, err
	}
	return eng.PlanSync(ctx, exp, lifecycle.SyncOptions{AllowMassChange: allow})
}

// portalCounts is a plan's summary as the portal shows it.
func portalCounts(p *lifecycle.Plan) []portal.Count {
	var out []portal.Count
	for _, c := range p.Summary() {
		out = append(out, portal.Count{What: c.What, N: c.N})
	}
	return out
}

// keptPlans bounds the plans kept in memory for the portal; a plan older
// than planLife is refused at apply (the technician makes a new one).
const (
	keptPlans = 20
	planLife  = time.Hour
)

// plan makes a plan of job as of now.
func (j *jobs) plan(ctx context.Context, job string, allow bool) (*lifecycle.Plan, error) {
	switch job {
	case "sync":
		if j.cfg.Sync.Source == "" {
			return nil, errors.New("no MIS export is configured: set source under [sync] (oneroster:PATH or csv:PATH)")
		}
		return planSync(ctx, j.eng, j.cfg, j.cfg.Sync.Source, allow)
	case "leavers":
		return j.eng.PlanLeavers(ctx, j.eng.Dir.Now(), lifecycle.SyncOptions{AllowMassChange: allow})
	}
	return nil, fmt.Errorf("unknown job %q: want sync or leavers", job)
}

// portalLines bounds the lines a plan shows in the browser.
const portalLines = 500

// Plan is portal.Lifecycle's: the plan is kept until applied or replaced.
func (j *jobs) Plan(ctx context.Context, job string) (portal.Plan, error) {
	p, err := j.plan(ctx, job, false)
	if err != nil {
		return portal.Plan{}, err
	}
	var b [12]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	j.mu.Lock()
	j.plans[id] = p
	j.order = append(j.order, id)
	for len(j.order) > keptPlans {
		delete(j.plans, j.order[0])
		j.order = j.order[1:]
	}
	j.mu.Unlock()
	out := portal.Plan{ID: id, Job: job, Source: p.Source, MadeAt: p.MadeAt, Summary: portalCounts(p)}
	// First, as on the command line: what each grade became, and the
	// year groups changing as the school year turns.
	for _, y := range p.Years {
		out.Lines = append(out.Lines, portal.PlanLine{Action: "grade", Detail: y.String()})
	}
	for _, c := range p.Cohorts {
		out.Lines = append(out.Lines, portal.PlanLine{Action: "cohort", Detail: "expected cohort change: " + c.String()})
	}
	if p.Blocked != "" {
		out.Lines = append(out.Lines, portal.PlanLine{Action: "refused", Detail: "Refused as a mass change: " + p.Blocked +
			" (the portal cannot allow a mass change: a technician runs keystage " + job + " --allow-mass-change)"})
	}
	lines := p.Lines()
	for i, l := range lines {
		if i == portalLines {
			out.Lines = append(out.Lines, portal.PlanLine{Action: "…", Detail: fmt.Sprintf("%d more: see keystage %s for the whole plan", len(lines)-i, job)})
			break
		}
		out.Lines = append(out.Lines, portal.PlanLine{Action: l.Action, Username: l.Username, Detail: l.Detail})
	}
	return out, nil
}

// Apply is portal.Lifecycle's: exactly the plan shown, once.
func (j *jobs) Apply(ctx context.Context, actor, planID string) (portal.Applied, error) {
	j.mu.Lock()
	p, ok := j.plans[planID]
	delete(j.plans, planID)
	j.mu.Unlock()
	if !ok || j.eng.Dir.Now().Sub(p.MadeAt) > planLife {
		return portal.Applied{}, errors.New("that plan is no longer kept (older than an hour, or already applied)")
	}
	run, err := j.apply(ctx, p, actor)
	if err != nil {
		return portal.Applied{}, err
	}
	return portal.Applied{Run: run, Summary: portalCounts(p)}, nil
}

// apply applies under the job's cross-node lock, so that two nodes never
// run the same job at once.
func (j *jobs) apply(ctx context.Context, p *lifecycle.Plan, actor string) (directory.SyncRun, error) {
	release, ok, err := j.lock(ctx)
	if err != nil {
		return directory.SyncRun{}, err
	}
	if !ok {
		return directory.SyncRun{}, errors.New("another node is running a lifecycle job: try again in a minute")
	}
	defer release()
	return j.eng.Apply(ctx, p, actor)
}

// lock takes the lifecycle jobs' cross-node lock; a store without one is
// used by one process, which needs none.
func (j *jobs) lock(ctx context.Context) (release func(), ok bool, err error) {
	if j.locker == nil {
		return func() {}, true, nil
	}
	return j.locker.TryJobLock(ctx, "lifecycle")
}

// scheduled runs one job from the schedule: plan and apply, unless the
// plan is a mass change (logged for a technician) or another node holds
// the lock.
func (j *jobs) scheduled(ctx context.Context, job string) {
	// Every run is counted (keystage_job_runs_total): skipped when another
	// node holds the lock, refused when the plan is a mass change.
	began, result := time.Now(), directory.ResultError
	defer func() { j.eng.Dir.ObserveJob(job, result, time.Since(began)) }()
	release, ok, err := j.lock(ctx)
	if err != nil || !ok {
		if err != nil {
			j.log.Warn("scheduled job: lock", "job", job, "err", err)
		} else {
			result = directory.ResultSkipped
		}
		return
	}
	defer release()
	p, err := j.plan(ctx, job, false)
	if err != nil {
		j.log.Error("scheduled job could not plan", "job", job, "err", err)
		return
	}
	if p.Blocked != "" {
		result = directory.ResultRefused
		j.log.Error("scheduled job refused as a mass change: nothing changed; a technician must check and run it by hand", "job", job, "reason", p.Blocked)
		return
	}
	run, err := j.eng.Apply(ctx, p, "schedule")
	if err != nil {
		j.log.Error("scheduled job failed: nothing changed", "job", job, "err", err)
		return
	}
	result = directory.ResultOK
	j.log.Info("scheduled job applied", "job", job, "run", run.ID, "counts", run.Counts)
}

// buildSchedule makes a frontend that runs the jobs on the configured
// intervals, when any is set.
func buildSchedule(e *env, d *directory.Directory, cfg *Config) (*frontend, error) {
	s := cfg.Sync
	if s.SyncEvery.Duration <= 0 && s.LeaversEvery.Duration <= 0 {
		return nil, nil
	}
	log := e.logger().With("frontend", "schedule")
	j := newJobs(d, cfg, log)
	log.Info("lifecycle jobs scheduled", "sync_every", s.SyncEvery.Duration, "leavers_every", s.LeaversEvery.Duration)
	f := &frontend{name: "schedule"}
	f.serve = func(ctx context.Context) error {
		tick := func(d time.Duration) <-chan time.Time {
			if d <= 0 {
				return nil
			}
			t := time.NewTicker(d)
			go func() { <-ctx.Done(); t.Stop() }()
			return t.C
		}
		syncC, leaversC := tick(s.SyncEvery.Duration), tick(s.LeaversEvery.Duration)
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-syncC:
				j.scheduled(ctx, "sync")
			case <-leaversC:
				j.scheduled(ctx, "leavers")
			}
		}
	}
	return f, nil
}
