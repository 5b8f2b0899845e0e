package lifecycle

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
)

// PlanFrom reads the MIS export named by from (oneroster:PATH or csv:PATH)
// and plans the sync of it.
func (e *Engine) PlanFrom(ctx context.Context, from string, read ReadOptions, allow bool) (*Plan, error) {
	src, err := Open(from, read)
	if err != nil {
		return nil, err
	}
	exp, err := src.Read(ctx)
	if err != nil {
		return nil, err
	}
	return e.PlanSync(ctx, exp, SyncOptions{AllowMassChange: allow})
}

// JobsConfig is what the lifecycle jobs run from: the [sync] section.
type JobsConfig struct {
	// Source is the MIS export the sync reads (oneroster:PATH or
	// csv:PATH); "" when none is configured.
	Source string
	Read   ReadOptions
	// SyncEvery and LeaversEvery are the schedule; zero runs a job only
	// when a person asks.
	SyncEvery    time.Duration
	LeaversEvery time.Duration
	// Schools, for a trust, are synced each on its own (PlanSchools);
	// none for a single school.
	Schools []SchoolSource
}

// Jobs runs the MIS sync and the leaver job for the portal and the
// schedule: it reads the configured source, makes plans, keeps them for
// the technician to confirm, and applies them under the job lock, so that
// two nodes never run a lifecycle job at once.
type Jobs struct {
	eng    *Engine
	cfg    JobsConfig
	log    *slog.Logger
	locker directory.JobLocker // nil: one process, no lock needed

	mu    sync.Mutex
	plans map[string]*Plan // by id, made and not yet applied
	order []string
}

// NewJobs returns the jobs of eng, configured by cfg, logging to log.
func NewJobs(eng *Engine, cfg JobsConfig, log *slog.Logger) *Jobs {
	j := &Jobs{eng: eng, cfg: cfg, log: log, plans: map[string]*Plan{}}
	j.locker, _ = eng.Dir.Store().(directory.JobLocker)
	return j
}

// KeptPlans bounds the plans kept in memory for confirmation; a plan older
// than PlanLife is refused at apply (the technician makes a new one).
const (
	KeptPlans = 20
	PlanLife  = time.Hour
)

// Plan makes a plan of job ("sync" or "leavers") as of now, changing
// nothing.
func (j *Jobs) Plan(ctx context.Context, job string, allow bool) (*Plan, error) {
	switch job {
	case "sync":
		if len(j.cfg.Schools) > 0 {
			return nil, errors.New("a trust's schools are synced each on its own: run keystage sync --school ID (the schedule syncs them all)")
		}
		if j.cfg.Source == "" {
			return nil, errors.New("no MIS export is configured: set source under [sync] (oneroster:PATH or csv:PATH)")
		}
		return j.eng.PlanFrom(ctx, j.cfg.Source, j.cfg.Read, allow)
	case "leavers":
		return j.eng.PlanLeavers(ctx, j.eng.Dir.Now(), SyncOptions{AllowMassChange: allow})
	}
	return nil, fmt.Errorf("unknown job %q: want sync or leavers", job)
}

// Keep keeps p until ApplyKept applies it or KeptPlans newer plans push it
// out, and returns the id that names it.
func (j *Jobs) Keep(p *Plan) string {
	var b [12]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	j.mu.Lock()
	defer j.mu.Unlock()
	j.plans[id] = p
	j.order = append(j.order, id)
	for len(j.order) > KeptPlans {
		delete(j.plans, j.order[0])
		j.order = j.order[1:]
	}
	return id
}

// ApplyKept applies exactly the kept plan with that id, once, as actor.
func (j *Jobs) ApplyKept(ctx context.Context, actor, id string) (*Plan, directory.SyncRun, error) {
	j.mu.Lock()
	p, ok := j.plans[id]
	delete(j.plans, id)
	j.mu.Unlock()
	if !ok || j.eng.Dir.Now().Sub(p.MadeAt) > PlanLife {
		return nil, directory.SyncRun{}, errors.New("that plan is no longer kept (older than an hour, or already applied)")
	}
	run, err := j.Apply(ctx, p, actor)
	if err != nil {
		return nil, directory.SyncRun{}, err
	}
	return p, run, nil
}

// Apply applies p as actor under the job's cross-node lock.
func (j *Jobs) Apply(ctx context.Context, p *Plan, actor string) (directory.SyncRun, error) {
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
func (j *Jobs) lock(ctx context.Context) (release func(), ok bool, err error) {
	if j.locker == nil {
		return func() {}, true, nil
	}
	return j.locker.TryJobLock(ctx, "lifecycle")
}

// RunScheduled runs one job from the schedule: plan and apply, unless the
// plan is a mass change (logged for a technician) or another node holds
// the lock.
func (j *Jobs) RunScheduled(ctx context.Context, job string) {
	// Every run is counted (keystage_job_runs_total): skipped when another
	// node holds the lock, refused when the plan is a mass change.
	began, result := j.eng.Dir.Now(), directory.ResultError
	defer func() { j.eng.Dir.ObserveJob(job, result, j.eng.Dir.Now().Sub(began)) }()
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
	if job == "sync" && len(j.cfg.Schools) > 0 {
		result = j.runSchools(ctx)
		return
	}
	p, err := j.Plan(ctx, job, false)
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

// Scheduled reports whether any job runs on a schedule.
func (j *Jobs) Scheduled() bool { return j.cfg.SyncEvery > 0 || j.cfg.LeaversEvery > 0 }

// RunSchedule runs the jobs on their intervals until ctx ends.
func (j *Jobs) RunSchedule(ctx context.Context) error {
	tick := func(d time.Duration) <-chan time.Time {
		if d <= 0 {
			return nil
		}
		t := time.NewTicker(d)
		go func() { <-ctx.Done(); t.Stop() }()
		return t.C
	}
	syncC, leaversC := tick(j.cfg.SyncEvery), tick(j.cfg.LeaversEvery)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-syncC:
			j.RunScheduled(ctx, "sync")
		case <-leaversC:
			j.RunScheduled(ctx, "leavers")
		}
	}
}
