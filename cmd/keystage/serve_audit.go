package main

import (
	"context"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

// checkpointPoll is how often the checkpointer looks at the head of the
// trail to honour audit.checkpoint_every between intervals.
const checkpointPoll = 15 * time.Second

// buildCheckpointer signs the head of the audit trail every
// audit.checkpoint_interval when it has moved, and sooner once
// audit.checkpoint_every events are unsigned, so that a rewrite of the
// trail in the database is caught within that bound. On several nodes each
// checkpoints; the first to sign a head wins and the others skip it.
func buildCheckpointer(e *env, s *sqlstore.Store, cfg *Config) (*frontend, error) {
	signer, err := e.signer(s, true)
	if err != nil {
		return nil, err
	}
	log := e.logger().With("job", "audit-checkpoint")
	ac := cfg.Audit
	sign := func(ctx context.Context) {
		c, made, err := directory.Checkpoint(ctx, s, signer, time.Now())
		if err != nil {
			log.Warn("signing an audit checkpoint failed; will retry", "err", err)
			return
		}
		if made {
			log.Debug("audit checkpoint signed", "seq", c.Seq)
		}
	}
	var hints []string
	if e.demoDir != "" {
		run := "go run ./cmd/keystage --data " + e.demoDir
		today := time.Now().In(cfg.Location()).Format("2006-01-02")
		_, pupil := demoNames(e.ctx, s)
		hints = []string{run + " audit verify", run + " register export -o register.xlsx",
			run + " register export --as-of " + today + " --format json",
			run + " register person " + pupil, run + " audit export --since " + today}
	}
	return &frontend{
		name:  "audit trail",
		hints: hints,
		serve: func(ctx context.Context) error {
			sign(ctx)
			every := time.NewTicker(ac.CheckpointInterval.Duration)
			defer every.Stop()
			poll := time.NewTicker(checkpointPoll)
			defer poll.Stop()
			for {
				select {
				case <-ctx.Done():
					// A last checkpoint on the way out, so that a stopped
					// server leaves nothing unsigned.
					sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					sign(sctx)
					cancel()
					return nil
				case <-every.C:
					sign(ctx)
				case <-poll.C:
					if ac.CheckpointEvery <= 0 {
						continue
					}
					head, _, err := s.AuditHead(ctx)
					if err != nil {
						continue
					}
					last, err := s.LastCheckpoint(ctx)
					if err == nil && head-last.Seq < ac.CheckpointEvery {
						continue
					}
					sign(ctx)
				}
			}
		},
	}, nil
}
