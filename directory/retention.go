package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"keystage.dev/keystage/audit"
)

// RetentionSchedule is how long each kind of record is kept past its use
// (0: for ever). Accounts are purged by the leaver job after the sync
// policy's retention, and accounting sessions by RADIUS after its own;
// this schedule covers what those do not: the devices each person joined
// from, and the audit trail's oldest events, personal content and all.
type RetentionSchedule struct {
	// Devices: a device record not seen for this long is deleted.
	Devices time.Duration
	// AuditEvents: events recorded longer ago than this are deleted from
	// the start of the trail, by a signed prune (PruneTrail) that keeps
	// the chain verifiable.
	AuditEvents time.Duration
	// Held are usernames whose records are kept as if under a legal hold,
	// besides those the directory's open legal holds name (which
	// ApplyRetention always reads). None of their records is purged. The
	// trail is pruned only as a run from its start, so its prune stops
	// before the first event about a held person; their device records
	// are kept.
	Held []string
}

// RetentionResult is what a run of the schedule did (or would do).
type RetentionResult struct {
	Devices int64     // device records deleted (a plan counts none)
	Audit   PrunePlan // the trail's prune; Removed 0 when none is due
	// Pruned is the signed audit.prune event (zero when none).
	Pruned audit.Event
}

// ApplyRetention applies the schedule at the directory's clock: with
// apply unset it only plans the trail's prune. The prune of the trail is
// signed by signer (needed when one is due) and recorded as audit.prune;
// the run as a whole is recorded as retention.apply. The caller checks the
// trail verifies before (a trail that does not is evidence, kept whole),
// and signs a checkpoint after.
func (d *Directory) ApplyRetention(ctx context.Context, actor string, sched RetentionSchedule, signer *audit.Signer, apply bool) (RetentionResult, error) {
	now := d.Now()
	var res RetentionResult
	held, err := d.heldUsernames(ctx, sched.Held)
	if err != nil {
		return res, fmt.Errorf("retention: %w", err)
	}
	sched.Held = held
	if sched.AuditEvents > 0 {
		plan, err := PlanPrune(ctx, d.store, now.Add(-sched.AuditEvents))
		if err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
		if plan, err = d.stopAtHeld(ctx, plan, sched.Held); err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
		res.Audit = plan
	}
	if !apply {
		return res, nil
	}
	if sched.Devices > 0 {
		n, err := d.pruneDevices(ctx, now.Add(-sched.Devices), sched.Held)
		if err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
		res.Devices = n
	}
	if res.Audit.Removed > 0 {
		if signer == nil {
			return res, fmt.Errorf("retention: the audit trail's prune is signed, and no signing key is at hand")
		}
		ev, err := PruneTrail(ctx, d.store, signer, res.Audit, actor, now)
		if err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
		res.Pruned = ev
	}
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		return d.Record(ctx, tx, actor, audit.ActionRetentionApply, "retention", nil, map[string]any{
			"devices_deleted": res.Devices, "devices_after": sched.Devices.String(),
			"audit_events_deleted": res.Audit.Removed, "audit_events_after": sched.AuditEvents.String(), "audit_prune_seq": res.Pruned.Seq})
	})
	if err != nil {
		return res, fmt.Errorf("retention: %w", err)
	}
	return res, nil
}

// heldUsernames is extra and the usernames of every account under an open
// legal hold.
func (d *Directory) heldUsernames(ctx context.Context, extra []string) ([]string, error) {
	hs, err := d.store.OpenLegalHolds(ctx)
	if err != nil {
		return nil, fmt.Errorf("legal holds: %w", err)
	}
	out := slices.Clone(extra)
	for _, h := range hs {
		a, err := d.store.Account(ctx, h.AccountID)
		if err != nil {
			return nil, fmt.Errorf("legal hold %d: %w", h.ID, err)
		}
		if !slices.Contains(out, a.Username) {
			out = append(out, a.Username)
		}
	}
	return out, nil
}

// stopAtHeld shortens a prune so that it keeps every event about a held
// person: it ends before the first of them.
func (d *Directory) stopAtHeld(ctx context.Context, plan PrunePlan, held []string) (PrunePlan, error) {
	if len(held) == 0 || plan.Removed == 0 {
		return plan, nil
	}
	for _, name := range held {
		evs, err := d.store.AuditEventsAbout(ctx, audit.AccountTarget(name), plan.FirstSeq-1, 1)
		if err != nil {
			return plan, err
		}
		if len(evs) == 1 && evs[0].Seq < plan.KeepFrom {
			plan.KeepFrom = evs[0].Seq
		}
	}
	plan.Removed = plan.KeepFrom - plan.FirstSeq
	if plan.Removed == 0 {
		plan.LastGone = time.Time{}
		return plan, nil
	}
	last, err := d.store.AuditEvents(ctx, plan.KeepFrom-2, 1)
	if err != nil {
		return plan, err
	}
	if len(last) == 1 {
		plan.LastGone = last[0].Time
	}
	return plan, nil
}

// pruneDevices forgets devices last seen before t, but not those of held
// people.
func (d *Directory) pruneDevices(ctx context.Context, before time.Time, held []string) (int64, error) {
	var keep []int64
	for _, name := range held {
		a, err := d.store.AccountByUsername(ctx, name)
		switch {
		case err == nil:
			keep = append(keep, a.ID)
		case !errors.Is(err, ErrNotFound):
			return 0, err
		}
	}
	return d.store.PruneDevices(ctx, before, keep)
}
