package directory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
)

// Suspend takes a's network access away from s.From (zero: now) until
// s.Until (zero: until lifted), with a reason and, optionally, the
// incident reference. A suspension in force at once ends a's live
// sessions after the change has committed; one that starts later is
// picked up at its start by the frontends that follow the store (see
// UpcomingSuspensions).
func (d *Directory) Suspend(ctx context.Context, actor string, a Account, s Suspension) (Suspension, error) {
	now := d.Now()
	s.Reason, s.IncidentRef = strings.TrimSpace(s.Reason), strings.TrimSpace(s.IncidentRef)
	s.LiftRole = strings.TrimSpace(s.LiftRole)
	if s.From.IsZero() {
		s.From = now
	}
	scope, err := ParseSuspensionScope(string(s.Scope))
	if err != nil {
		return s, fmt.Errorf("suspend %s: %w", a.Username, err)
	}
	s.Scope = scope
	switch {
	case s.LiftRole != "" && !s.Until.IsZero():
		return s, fmt.Errorf("suspend %s: %w", a.Username, invalid("A suspension that the %s role lifts has no end date: leave the end empty, or do not name a role.", s.LiftRole))
	case s.Reason == "":
		return s, fmt.Errorf("suspend %s: %w", a.Username, invalid("Give a reason for the suspension: it is shown to auditors, not to the person suspended."))
	case !s.Until.IsZero() && !s.Until.After(now):
		return s, fmt.Errorf("suspend %s: %w", a.Username, invalid("The end of the suspension (%s) must be in the future (it is now %s): give a later date or time.",
			s.Until.In(d.gate.Policy.loc()).Format("2 Jan 2006 15:04"), now.In(d.gate.Policy.loc()).Format("2 Jan 2006 15:04")))
	case !s.Until.IsZero() && !s.Until.After(s.From):
		return s, fmt.Errorf("suspend %s: %w", a.Username, invalid("The end of the suspension (%s) must be after its start (%s).",
			s.Until.In(d.gate.Policy.loc()).Format("2 Jan 2006 15:04"), s.From.In(d.gate.Policy.loc()).Format("2 Jan 2006 15:04")))
	}
	s.ID, s.AccountID, s.CreatedAt, s.LiftedAt, s.LiftedBy = 0, a.ID, now, time.Time{}, ""
	s.TalkWith, s.TalkAt, s.TalkNote = "", time.Time{}, ""
	if s.CreatedBy == "" {
		s.CreatedBy = actor
	}
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.AddSuspension(ctx, &s); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionSuspensionAdd, audit.AccountTarget(a.Username), nil, map[string]any{
			"suspension_id": s.ID, "from": s.From, "until": timeOrNil(s.Until), "reason": s.Reason, "incident_ref": s.IncidentRef,
			"scope": string(s.Scope), "lift_role": s.LiftRole})
	})
	if err != nil {
		return s, fmt.Errorf("suspend %s: %w", a.Username, err)
	}
	if s.ActiveAt(now) && (s.Covers(ServiceWiFi) || s.Covers(ServiceLDAP)) {
		// Live Wi-Fi sessions and caches end now, not at the next sign-in.
		d.EndAccess(ctx, a)
	}
	return s, nil
}

// Lift ends suspension id of a now. It must be in force or still to
// start; ErrNotFound otherwise. A suspension with a LiftRole is refused
// (ErrRoleRequired): use LiftWith.
func (d *Directory) Lift(ctx context.Context, actor string, a Account, id int64) (Suspension, error) {
	return d.LiftWith(ctx, actor, a, id, Lifting{})
}

// LiftWith ends suspension id of a now, as someone holding l.Roles. A
// suspension with a LiftRole needs that role (ErrRoleRequired otherwise)
// and the conversation held first (who took part, when, a note), which is
// kept with it and in the audit event.
func (d *Directory) LiftWith(ctx context.Context, actor string, a Account, id int64, l Lifting) (Suspension, error) {
	out, err := d.lift(ctx, actor, a, l, func(s Suspension) bool { return s.ID == id })
	if err != nil {
		return Suspension{}, err
	}
	return out[0], nil
}

// LiftAll ends every suspension of a in force or still to start, in one
// transaction. ErrNotFound when there is none. It lifts nothing if one of
// them has a LiftRole that l does not satisfy.
func (d *Directory) LiftAll(ctx context.Context, actor string, a Account, l Lifting) ([]Suspension, error) {
	return d.lift(ctx, actor, a, l, func(Suspension) bool { return true })
}

// lift does not call EndAccess: the person's access comes back, and the
// hooks would end their sessions. Caches learn of it through the audit
// trail (see Watcher) or their TTL.
func (d *Directory) lift(ctx context.Context, actor string, a Account, l Lifting, match func(Suspension) bool) ([]Suspension, error) {
	now := d.Now()
	l.With, l.Note = strings.TrimSpace(l.With), strings.TrimSpace(l.Note)
	if l.At.IsZero() {
		l.At = now
	}
	var out []Suspension
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		all, err := tx.Suspensions(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, x := range all {
			if !match(x) || !(x.ActiveAt(now) || pending(x, now)) {
				continue
			}
			if err := liftCheck(x, l, now); err != nil {
				return fmt.Errorf("%s: %w", a.Username, err)
			}
			y, err := tx.UpdateSuspension(ctx, x.ID, func(y *Suspension) error {
				y.LiftedAt, y.LiftedBy = now, actor
				if x.LiftRole != "" {
					y.TalkWith, y.TalkAt, y.TalkNote = l.With, l.At, l.Note
				}
				return nil
			})
			if err != nil {
				return err
			}
			after := map[string]any{"suspension_id": x.ID, "lifted_at": now}
			if x.LiftRole != "" {
				after["lift_role"], after["talk_with"], after["talk_at"], after["talk_note"] = x.LiftRole, l.With, l.At, l.Note
			}
			if err := d.Record(ctx, tx, actor, audit.ActionSuspensionLift, audit.AccountTarget(a.Username),
				map[string]any{"suspension_id": x.ID, "reason": x.Reason}, after); err != nil {
				return err
			}
			out = append(out, y)
		}
		if len(out) == 0 {
			return fmt.Errorf("%s has no suspension in force or to come: %w", a.Username, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lift suspension: %w", err)
	}
	return out, nil
}

// pending reports whether s starts after t and has not been lifted.
func pending(s Suspension, t time.Time) bool {
	return t.Before(s.From) && s.LiftedAt.IsZero()
}
