package main

import (
	"context"
	"log/slog"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/server"
)

// newJobs is the lifecycle jobs over d, with the [sync] section.
func newJobs(d *directory.Directory, cfg *Config, log *slog.Logger) *lifecycle.Jobs {
	s := cfg.Sync
	return lifecycle.NewJobs(newEngine(d, cfg), lifecycle.JobsConfig{
		Source:       s.Source,
		Read:         s.readOptions(cfg.Location()),
		SyncEvery:    s.SyncEvery.Duration,
		LeaversEvery: s.LeaversEvery.Duration,
		Schools:      cfg.schoolSources(),
	}, log)
}

// newEngine is the lifecycle engine over d, with the [sync] policy.
func newEngine(d *directory.Directory, cfg *Config) *lifecycle.Engine {
	return &lifecycle.Engine{Dir: d, Policy: cfg.Sync.policy(cfg.Location())}
}

// buildSchedule makes a frontend that runs the jobs on the configured
// intervals, when any is set.
func buildSchedule(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	log := e.logger().With("frontend", "schedule")
	j := newJobs(d, cfg, log)
	if !j.Scheduled() {
		return nil, nil
	}
	log.Info("lifecycle jobs scheduled", "sync_every", cfg.Sync.SyncEvery.Duration, "leavers_every", cfg.Sync.LeaversEvery.Duration)
	return &server.Frontend{Name: "schedule", Serve: func(ctx context.Context) error { return j.RunSchedule(ctx) }}, nil
}
