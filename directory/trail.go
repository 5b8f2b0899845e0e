package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"keystage.dev/keystage/audit"
)

// trailPage is how many events or checkpoints are read at a time: enough
// to keep round trips few, few enough that memory stays flat.
const trailPage = 5000

// paged streams what fetch returns page by page, each page starting after
// the key of the last item of the one before.
func paged[T any](fetch func(after int64) ([]T, error), key func(T) int64) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var after int64
		for {
			page, err := fetch(after)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, x := range page {
				if !yield(x, nil) {
					return
				}
			}
			if len(page) < trailPage {
				return
			}
			after = key(page[len(page)-1])
		}
	}
}

func eventSeq(e audit.Event) int64 { return e.Seq }

// Events streams the audit trail from afterSeq on, page by page.
func Events(ctx context.Context, r Reader, afterSeq int64) iter.Seq2[audit.Event, error] {
	return paged(func(after int64) ([]audit.Event, error) {
		return r.AuditEvents(ctx, max(after, afterSeq), trailPage)
	}, eventSeq)
}

// EventsAbout streams the events about one target.
func EventsAbout(ctx context.Context, r Reader, target string) iter.Seq2[audit.Event, error] {
	return paged(func(after int64) ([]audit.Event, error) {
		return r.AuditEventsAbout(ctx, target, after, trailPage)
	}, eventSeq)
}

// Checkpoints streams the signed checkpoints in order.
func Checkpoints(ctx context.Context, s Store) iter.Seq2[audit.Checkpoint, error] {
	return paged(func(after int64) ([]audit.Checkpoint, error) {
		return s.Checkpoints(ctx, after, trailPage)
	}, func(c audit.Checkpoint) int64 { return c.Seq })
}

// VerifyTrail walks the whole trail and its checkpoints (see
// audit.VerifyTrail) in constant memory.
func VerifyTrail(ctx context.Context, s Store, keys audit.Keys) (audit.TrailReport, error) {
	return audit.VerifyTrail(keys, Events(ctx, s, 0), Checkpoints(ctx, s))
}

// Checkpoint signs the head of the trail when it has moved since the last
// checkpoint, and reports whether it made one. It first checks the events
// since the last checkpoint, so that it never vouches for a chain that is
// already broken (the error is then a *audit.ChainError). Two nodes
// checkpointing the same head at once is not an error: the first one's
// stands.
func Checkpoint(ctx context.Context, s Store, signer *audit.Signer, now time.Time) (audit.Checkpoint, bool, error) {
	seq, _, err := s.AuditHead(ctx)
	if err != nil || seq == 0 {
		return audit.Checkpoint{}, false, err
	}
	last, err := s.LastCheckpoint(ctx)
	switch {
	case err == nil && last.Seq >= seq:
		return last, false, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return audit.Checkpoint{}, false, err
	}
	start := last
	if start.Seq == 0 {
		// No checkpoint yet: start from the first event, which is above 1
		// once a retention prune deleted the ones before it.
		first, err := s.AuditEvents(ctx, 0, 1)
		if err != nil {
			return audit.Checkpoint{}, false, err
		}
		if len(first) == 1 && first[0].Seq > 1 {
			start = audit.Checkpoint{Seq: first[0].Seq - 1, Hash: first[0].PrevHash}
		}
	}
	v := audit.NewVerifier(start.Seq, start.Hash)
	for e, err := range Events(ctx, s, start.Seq) {
		if err != nil {
			return audit.Checkpoint{}, false, err
		}
		if e.Seq > seq {
			break // appended since the head was read: the next checkpoint's
		}
		if err := v.Next(e); err != nil {
			return audit.Checkpoint{}, false, fmt.Errorf("not signing a checkpoint over a broken chain: %w", err)
		}
	}
	seq, hash := v.Head()
	if seq == start.Seq {
		return last, false, nil
	}
	c := signer.Sign(seq, hash, now)
	if err := s.AddCheckpoint(ctx, c); errors.Is(err, ErrConflict) {
		return c, false, nil
	} else if err != nil {
		return c, false, err
	}
	return c, true, nil
}

// ClockSkew is how far out of order in time events may be recorded (the
// clocks of several nodes, a clock stepped back): a walk that looks for
// events up to an instant reads on until the trail is this far past it,
// then stops rather than read the rest of the trail.
const ClockSkew = time.Hour

// ExportEvents writes the events whose time is in [since, until) as JSON
// Lines (zero bounds are open), streaming, and returns how many it wrote.
func ExportEvents(ctx context.Context, r Reader, w io.Writer, since, until time.Time) (int64, error) {
	return ExportEventsAs(ctx, r, w, audit.FormatJSONL, since, until)
}

// ExportEventsAs is ExportEvents in a format: audit.FormatJSONL (the one
// to verify the chain from) or audit.FormatCSV (for a spreadsheet).
func ExportEventsAs(ctx context.Context, r Reader, w io.Writer, format string, since, until time.Time) (int64, error) {
	var (
		ew    interface{ Write(audit.Event) error }
		flush = func() error { return nil }
	)
	switch format {
	case audit.FormatJSONL, "":
		ew = audit.NewEventWriter(w)
	case audit.FormatCSV:
		cw, err := audit.NewEventCSVWriter(w)
		if err != nil {
			return 0, err
		}
		ew, flush = cw, cw.Flush
	default:
		return 0, fmt.Errorf("audit export: unknown format %q: use jsonl or csv", format)
	}
	var n int64
	for e, err := range Events(ctx, r, 0) {
		if err != nil {
			return n, err
		}
		if !until.IsZero() && e.Time.After(until.Add(ClockSkew)) {
			break
		}
		if (!since.IsZero() && e.Time.Before(since)) || (!until.IsZero() && !e.Time.Before(until)) {
			continue
		}
		if err := ew.Write(e); err != nil {
			return n, fmt.Errorf("export audit event %d: %w", e.Seq, err)
		}
		n++
	}
	return n, flush()
}

// PrunePlan is what a retention prune of the audit trail deletes.
type PrunePlan struct {
	Before   time.Time // events recorded before this are to go
	FirstSeq int64     // the first event of the trail now (0: it is empty)
	KeepFrom int64     // the first event kept
	Removed  int64     // events deleted: KeepFrom - FirstSeq
	LastGone time.Time // when the last event to go was recorded
}

// PlanPrune finds what a retention prune of the events recorded before t
// deletes: the run of such events from the start of the trail. The trail
// stays a chain, so an event recorded before t that follows one recorded
// since (clocks of several nodes) stays until a later prune.
func PlanPrune(ctx context.Context, r Reader, before time.Time) (PrunePlan, error) {
	plan := PrunePlan{Before: before}
	for e, err := range Events(ctx, r, 0) {
		if err != nil {
			return plan, err
		}
		if plan.FirstSeq == 0 {
			plan.FirstSeq, plan.KeepFrom = e.Seq, e.Seq
		}
		if !e.Time.Before(before) {
			break
		}
		plan.KeepFrom, plan.LastGone = e.Seq+1, e.Time
	}
	plan.Removed = plan.KeepFrom - plan.FirstSeq
	return plan, nil
}

// ErrPlanStale is a prune whose plan no longer matches the trail.
var ErrPlanStale = errors.New("the audit trail changed since the prune was planned: plan it again")

// PruneTrail deletes what plan names in one transaction with the
// audit.prune event that records it (see audit.Prune), signed by signer,
// and returns that event. Sign a checkpoint after it, so that the prune is vouched for and
// a witness records it.
func PruneTrail(ctx context.Context, s Store, signer *audit.Signer, plan PrunePlan, actor string, now time.Time) (audit.Event, error) {
	var ev audit.Event
	if plan.Removed <= 0 {
		return ev, fmt.Errorf("audit prune: nothing to delete")
	}
	err := s.Update(ctx, func(ctx context.Context, tx Tx) error {
		first, err := tx.AuditEvents(ctx, 0, 1)
		if err != nil {
			return err
		}
		if len(first) != 1 || first[0].Seq != plan.FirstSeq {
			return ErrPlanStale
		}
		last, err := tx.AuditEvents(ctx, plan.KeepFrom-2, 1)
		if err != nil {
			return err
		}
		if len(last) != 1 || last[0].Seq != plan.KeepFrom-1 {
			return ErrPlanStale
		}
		p := audit.Prune{FirstSeq: plan.KeepFrom, PrevHash: last[0].Hash, Removed: plan.Removed, Before: plan.Before}
		signer.SignPrune(&p)
		ev = audit.Event{Time: now, Actor: actor, Action: audit.ActionPrune, Target: "audit:trail", After: audit.Snapshot(p)}
		// Recorded before the deletion, so that the chain is never empty
		// and the prune event always follows the events it deleted.
		if err := tx.Record(ctx, &ev); err != nil {
			return err
		}
		n, err := tx.PruneAudit(ctx, plan.KeepFrom)
		if err != nil {
			return err
		}
		if n != plan.Removed {
			return ErrPlanStale
		}
		return nil
	})
	if err != nil {
		return audit.Event{}, fmt.Errorf("audit prune: %w", err)
	}
	return ev, nil
}
