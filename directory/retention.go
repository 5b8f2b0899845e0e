package directory

import (
	"context"
	"fmt"
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
	if sched.AuditEvents > 0 {
		plan, err := PlanPrune(ctx, d.store, now.Add(-sched.AuditEvents))
		if err != nil {
			return res, fmt.Errorf("retention: %w", err)
		}
		res.Audit = plan
	}
	if !apply {
		return res, nil
	}
	if sched.Devices > 0 {
		n, err := d.store.PruneDevices(ctx, now.Add(-sched.Devices))
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
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		return d.Record(ctx, tx, actor, audit.ActionRetentionApply, "retention", nil, map[string]any{
			"devices_deleted": res.Devices, "devices_after": sched.Devices.String(),
			"audit_events_deleted": res.Audit.Removed, "audit_events_after": sched.AuditEvents.String(), "audit_prune_seq": res.Pruned.Seq})
	})
	if err != nil {
		return res, fmt.Errorf("retention: %w", err)
	}
	return res, nil
}
