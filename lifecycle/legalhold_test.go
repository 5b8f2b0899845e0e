package lifecycle_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
)

// A legal hold keeps a leaver's account past its retention period: the
// plan keeps it and says why, an apply of a plan made before the hold
// refuses to purge it, and once the hold is lifted the purge goes ahead.
func TestLegalHoldStopsThePurge(t *testing.T) {
	backends(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		f := newFixture(t, open, lifecycle.Policy{Retention: 365 * 24 * time.Hour, MassChange: 1})
		r := pupil("P1", "Jane", "Smith", "7", "7A")
		keep := pupil("P2", "Keep", "Er", "7", "7A")
		f.sync(bulk(r, keep))
		r.Deleted = true
		f.sync(bulk(r, keep))
		held := f.account("P1")
		f.now = f.now.Add(400 * 24 * time.Hour)
		before, err := f.e.PlanLeavers(ctx, f.now, lifecycle.SyncOptions{})
		if err != nil || len(before.Changes) != 1 || before.Changes[0].Kind != lifecycle.KindPurge {
			t.Fatalf("purge planned: %+v %v", before, err)
		}
		dsl := []string{directory.StaffRoleSafeguarding}
		if _, err := f.d.SetLegalHold(ctx, "user:tech", []string{"technician"}, held, directory.LegalHold{Kind: directory.HoldSafeguarding, Reason: "case"}); !errors.Is(err, directory.ErrRoleRequired) {
			t.Errorf("a technician sets a hold: %v", err)
		}
		h, err := f.d.SetLegalHold(ctx, "user:dsl", dsl, held, directory.LegalHold{Kind: directory.HoldSafeguarding, Reason: "open case", Reference: "SG-4"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.Apply(ctx, before, "test"); !errors.Is(err, lifecycle.ErrBadPlan) || !strings.Contains(err.Error(), "legal hold") {
			t.Errorf("apply of a plan made before the hold: %v", err)
		}
		if _, err := f.s.AccountByMISID(ctx, "P1"); err != nil {
			t.Fatalf("purged under a hold: %v", err)
		}
		p, err := f.e.PlanLeavers(ctx, f.now, lifecycle.SyncOptions{})
		if err != nil || len(p.Changes) != 1 || p.Changes[0].Kind != lifecycle.KindLegalHold || !strings.Contains(p.Changes[0].Why[0], "legal hold") {
			t.Fatalf("plan under a hold: %+v %v", p, err)
		}
		f.apply(p)
		if _, err := f.s.AccountByMISID(ctx, "P1"); err != nil {
			t.Fatalf("purged under a hold: %v", err)
		}
		if _, err := f.d.LiftLegalHolds(ctx, "user:auditor", []string{"auditor"}, held, "closed"); !errors.Is(err, directory.ErrRoleRequired) {
			t.Errorf("an auditor lifts a hold: %v", err)
		}
		if _, err := f.d.LiftLegalHolds(ctx, "user:dpo", []string{directory.StaffRoleDataProtection}, held, " "); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("a lift without a note: %v", err)
		}
		lifted, err := f.d.LiftLegalHolds(ctx, "user:dpo", []string{directory.StaffRoleDataProtection}, held, "case closed")
		if err != nil || len(lifted) != 1 || lifted[0].ID != h.ID || lifted[0].LiftedBy != "user:dpo" || lifted[0].Open() {
			t.Fatalf("lift: %+v %v", lifted, err)
		}
		evs, _ := f.s.AuditEvents(ctx, 0, 10000)
		var actions []string
		for _, e := range evs {
			if strings.HasPrefix(string(e.Action), "legal_hold.") {
				actions = append(actions, string(e.Action)+" by "+e.Actor)
			}
		}
		if strings.Join(actions, ", ") != "legal_hold.set by user:dsl, legal_hold.lift by user:dpo" {
			t.Errorf("audited: %v", actions)
		}
		p, err = f.e.PlanLeavers(ctx, f.now, lifecycle.SyncOptions{})
		if err != nil || len(p.Changes) != 1 || p.Changes[0].Kind != lifecycle.KindPurge {
			t.Fatalf("plan after the lift: %+v %v", p, err)
		}
		f.apply(p)
		if _, err := f.s.AccountByMISID(ctx, "P1"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("not purged after the lift: %v", err)
		}
	})
}
