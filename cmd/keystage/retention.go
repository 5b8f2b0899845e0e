package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/server"
)

// cmdRetention: keystage retention [--apply].
func cmdRetention(e *env, args []string) error {
	fs := e.newFlags("retention", "[--apply]")
	apply := fs.Bool("apply", false, "delete what the schedule says is past; without it, say what would go")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	s, err := e.openStore(!*apply)
	if err != nil {
		return err
	}
	defer s.Close()
	d := e.directory(s)
	fmt.Fprintf(e.stdout, "accounts: purged %d days after they are disabled ([sync] retention_days, keystage leavers)\n", cfg.Sync.RetentionDays)
	fmt.Fprintf(e.stdout, "accounting sessions: deleted %d days after they end ([radius] retention_days, by RADIUS)\n", cfg.RADIUS.RetentionDays)
	return applyRetention(e.ctx, e, s, d, cfg, *apply, e.actor(), e.stdout)
}

// applyRetention plans or applies [retention]: the devices, and the audit
// trail's oldest events by a signed prune, once the trail verifies.
func applyRetention(ctx context.Context, e *env, s directory.Store, d *directory.Directory, cfg *Config, apply bool, actor string, out io.Writer) error {
	sched := cfg.Retention.schedule()
	if sched.AuditEvents > 0 {
		// A trail that does not verify is evidence: it is not pruned.
		keys, _, err := e.trustedKeys(nil)
		if err != nil {
			return err
		}
		if _, err := directory.VerifyTrail(ctx, s, keys); err != nil {
			return fmt.Errorf("the audit trail does not verify (%v): it is kept whole as evidence; run keystage audit verify", err)
		}
	}
	signer, err := e.signer(s, false)
	if err != nil && sched.AuditEvents > 0 {
		return fmt.Errorf("a prune of the trail is signed, and %w", err)
	}
	res, err := d.ApplyRetention(ctx, actor, sched, signer, apply)
	if err != nil {
		return err
	}
	switch {
	case sched.AuditEvents <= 0:
		fmt.Fprintln(out, "audit events: kept whole ([retention] audit_events = \"0d\")")
	case res.Audit.Removed == 0:
		fmt.Fprintf(out, "audit events: none older than %s at the start of the trail\n", days{sched.AuditEvents})
	case !apply:
		fmt.Fprintf(out, "audit events: would delete %d (events %d to %d) by a signed prune\n", res.Audit.Removed, res.Audit.FirstSeq, res.Audit.KeepFrom-1)
	default:
		fmt.Fprintf(out, "audit events: deleted %d; the prune is recorded, signed, at event %d\n", res.Audit.Removed, res.Pruned.Seq)
		if c, made, err := directory.Checkpoint(ctx, s, signer, time.Now()); err != nil {
			return fmt.Errorf("the prune is done, but signing its checkpoint failed: %w", err)
		} else if made {
			e.witnessCheckpoint(c)
		}
	}
	if apply {
		fmt.Fprintf(out, "devices: %d not seen for %s forgotten\n", res.Devices, days{sched.Devices})
	} else {
		fmt.Fprintf(out, "devices: those not seen for %s are forgotten\nnothing deleted: run again with --apply\n", days{sched.Devices})
	}
	return nil
}

// buildRetention applies [retention] in keystage serve every
// retention.every, on one node at a time.
func buildRetention(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	every := cfg.Retention.Every.Duration
	if every <= 0 {
		return nil, nil
	}
	log := e.logger().With("frontend", "retention")
	run := func(ctx context.Context) {
		if l, ok := d.Store().(directory.JobLocker); ok {
			release, got, err := l.TryJobLock(ctx, "retention")
			if err != nil || !got {
				return
			}
			defer release()
		}
		var buf discard
		if err := applyRetention(ctx, e, d.Store(), d, cfg, true, "job:retention", &buf); err != nil {
			log.Error("retention schedule not applied", "err", err)
			return
		}
		log.Info("retention schedule applied")
	}
	return &server.Frontend{Name: "retention", Serve: func(ctx context.Context) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				run(ctx)
			}
		}
	}}, nil
}

// discard is an io.Writer that keeps nothing.
type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
