package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
)

// holdRoles are the staff roles that set and lift legal holds.
var holdRoles = []string{StaffRoleSafeguarding, StaffRoleDataProtection}

func mayHold(roles []string) bool {
	for _, r := range roles {
		if slices.Contains(holdRoles, r) {
			return true
		}
	}
	return false
}

// SetLegalHold puts a legal hold on a's records, as someone holding roles
// (the safeguarding or data-protection role; ErrRoleRequired otherwise).
// While it is open nothing purges a's account (see Held).
func (d *Directory) SetLegalHold(ctx context.Context, actor string, roles []string, a Account, h LegalHold) (LegalHold, error) {
	now := d.Now()
	h.Reason, h.Reference = strings.TrimSpace(h.Reason), strings.TrimSpace(h.Reference)
	if h.Kind == "" {
		h.Kind = HoldOther
	}
	switch {
	case !mayHold(roles):
		return h, fmt.Errorf("legal hold on %s: only the safeguarding or data-protection role may set one: %w", a.Username, ErrRoleRequired)
	case h.Kind != HoldSafeguarding && h.Kind != HoldSubjectAccess && h.Kind != HoldOther:
		return h, fmt.Errorf("legal hold on %s: %w", a.Username, invalid("A legal hold is for safeguarding, subject-access or other, not %q.", h.Kind))
	case h.Reason == "":
		return h, fmt.Errorf("legal hold on %s: %w", a.Username, invalid("Give the reason for the legal hold (the case or request it keeps records for)."))
	}
	h.ID, h.AccountID, h.SetBy, h.SetAt, h.LiftedBy, h.LiftedAt, h.LiftNote = 0, a.ID, actor, now, "", time.Time{}, ""
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.AddLegalHold(ctx, &h); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionLegalHoldSet, audit.AccountTarget(a.Username), nil, map[string]any{
			"hold_id": h.ID, "kind": h.Kind, "reason": h.Reason, "reference": h.Reference})
	})
	if err != nil {
		return h, fmt.Errorf("legal hold on %s: %w", a.Username, err)
	}
	return h, nil
}

// LiftLegalHolds lifts every open legal hold on a, with a note, as
// someone holding roles (the safeguarding or data-protection role).
// ErrNotFound when none is open.
func (d *Directory) LiftLegalHolds(ctx context.Context, actor string, roles []string, a Account, note string) ([]LegalHold, error) {
	now := d.Now()
	note = strings.TrimSpace(note)
	switch {
	case !mayHold(roles):
		return nil, fmt.Errorf("lift legal hold on %s: only the safeguarding or data-protection role may lift one: %w", a.Username, ErrRoleRequired)
	case note == "":
		return nil, fmt.Errorf("lift legal hold on %s: %w", a.Username, invalid("Say why the legal hold ends (the case closed, the request answered)."))
	}
	var out []LegalHold
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		hs, err := tx.LegalHolds(ctx, a.ID)
		if err != nil {
			return err
		}
		for _, h := range hs {
			if !h.Open() {
				continue
			}
			y, err := tx.UpdateLegalHold(ctx, h.ID, func(y *LegalHold) error {
				y.LiftedBy, y.LiftedAt, y.LiftNote = actor, now, note
				return nil
			})
			if err != nil {
				return err
			}
			if err := d.Record(ctx, tx, actor, audit.ActionLegalHoldLift, audit.AccountTarget(a.Username),
				map[string]any{"hold_id": h.ID, "kind": h.Kind, "reason": h.Reason}, map[string]any{"hold_id": h.ID, "lifted_at": now, "note": note}); err != nil {
				return err
			}
			out = append(out, y)
		}
		if len(out) == 0 {
			return fmt.Errorf("%s has no open legal hold: %w", a.Username, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lift legal hold: %w", err)
	}
	return out, nil
}

// Held lists the accounts with an open legal hold, by id: a purge leaves
// them alone.
func Held(ctx context.Context, r LegalHoldReader) (map[int64]bool, error) {
	hs, err := r.OpenLegalHolds(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(hs))
	for _, h := range hs {
		out[h.AccountID] = true
	}
	return out, nil
}
