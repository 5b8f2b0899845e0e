package main

import (
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/server"
)

// buildCheckpointer runs the audit trail's checkpointer (see
// directory.Checkpointer) on audit.checkpoint_interval and
// audit.checkpoint_every.
func buildCheckpointer(e *env, s *sqlstore.Store, cfg *Config) (*server.Frontend, error) {
	signer, err := e.signer(s, true)
	if err != nil {
		return nil, err
	}
	c := &directory.Checkpointer{Store: s, Signer: signer, Interval: cfg.Audit.CheckpointInterval.Duration,
		Every: cfg.Audit.CheckpointEvery, Log: e.logger().With("job", "audit-checkpoint")}
	var hints []string
	if e.demoDir != "" {
		run := "go run ./cmd/keystage --data " + e.demoDir
		today := time.Now().In(cfg.Location()).Format("2006-01-02")
		_, pupil := demoNames(e.ctx, s)
		hints = []string{run + " audit verify", run + " register export -o register.xlsx",
			run + " register export --as-of " + today + " --format json",
			run + " register person " + pupil, run + " audit export --since " + today}
	}
	return &server.Frontend{
		Name:  "audit trail",
		Hints: hints,
		Serve: c.Run,
	}, nil
}
