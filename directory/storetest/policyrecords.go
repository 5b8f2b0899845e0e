package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

// testNetworkPolicies: proposals round-trip whole, and an update changes
// the decision only.
func testNetworkPolicies(t *testing.T, s directory.Store) {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p := directory.NetworkPolicy{Group: "pupils", Precedence: 20, VLAN: "20", FilterID: "pupils-filtered", SessionTimeout: 8 * time.Hour,
		Class: "pupil", Status: directory.NetworkProposed, RiskNote: "KS3 need YouTube for music", ProposedBy: "cli:tech", ProposedAt: at}
	r := directory.NetworkPolicy{Group: "guests", Removal: true, Status: directory.NetworkProposed, RiskNote: "no guests", ProposedBy: "cli:tech", ProposedAt: at,
		School: "north"}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddNetworkPolicy(ctx, &p); err != nil {
			return err
		}
		return tx.AddNetworkPolicy(ctx, &r)
	})
	if p.ID == 0 || r.ID == 0 || p.ID == r.ID {
		t.Fatalf("ids %d %d", p.ID, r.ID)
	}
	decided := at.Add(time.Hour)
	var got directory.NetworkPolicy
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		var err error
		got, err = tx.UpdateNetworkPolicy(ctx, p.ID, func(x *directory.NetworkPolicy) error {
			x.Status, x.DecidedBy, x.DecidedAt, x.DecisionNote = directory.NetworkApproved, "head", decided, "agreed at SLT"
			x.VLAN = "99" // not a decision: kept as proposed
			return nil
		})
		return err
	})
	if got.VLAN != "20" || got.Status != directory.NetworkApproved {
		t.Errorf("update returned %+v", got)
	}
	all, err := s.NetworkPolicies(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("NetworkPolicies = %v, %v", all, err)
	}
	g := all[0]
	if g.Group != "pupils" || g.Precedence != 20 || g.VLAN != "20" || g.FilterID != "pupils-filtered" || g.SessionTimeout != 8*time.Hour ||
		g.Class != "pupil" || g.School != "" || g.Removal || g.Status != directory.NetworkApproved || g.RiskNote != "KS3 need YouTube for music" ||
		g.ProposedBy != "cli:tech" || !g.ProposedAt.Equal(at) || g.DecidedBy != "head" || !g.DecidedAt.Equal(decided) || g.DecisionNote != "agreed at SLT" {
		t.Errorf("round trip: %+v", g)
	}
	if !all[1].Removal || all[1].School != "north" || !all[1].DecidedAt.IsZero() || all[1].Status != directory.NetworkProposed {
		t.Errorf("removal proposal: %+v", all[1])
	}
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.UpdateNetworkPolicy(ctx, 9999, func(*directory.NetworkPolicy) error { return nil })
		return err
	}); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("update of a missing policy: %v, want ErrNotFound", err)
	}
}

// testApprovals: approvals round-trip, list per account and for everyone,
// and go with the account.
func testApprovals(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("appr", "A1"))
	b := mustCreate(t, s, pupil("appr2", "A2"))
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	until := at.AddDate(0, 3, 0)
	x := directory.Approval{AccountID: a.ID, Kind: directory.ApprovalDevice, Device: "aa-bb-cc-dd-ee-ff", Reason: "medical app",
		ApprovedBy: "head", RecordedBy: "cli:tech", CreatedAt: at, Until: until}
	y := directory.Approval{AccountID: b.ID, Kind: directory.ApprovalNetwork, VLAN: "30", FilterID: "sen", Reason: "SEN plan",
		ApprovedBy: "dsl", RecordedBy: "portal:dsl", CreatedAt: at, Until: until}
	z := directory.Approval{AccountID: b.ID, Kind: directory.ApprovalPassword, PasswordPolicy: "pupil-ks1", Reason: "SEN plan",
		ApprovedBy: "dsl", RecordedBy: "portal:dsl", CreatedAt: at, Until: until}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		for _, p := range []*directory.Approval{&x, &y, &z} {
			if err := tx.AddApproval(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	revoked := at.Add(24 * time.Hour)
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.UpdateApproval(ctx, x.ID, func(p *directory.Approval) error { p.RevokedAt, p.RevokedBy = revoked, "head"; return nil })
		return err
	})
	got, err := s.Approvals(ctx, a.ID)
	if err != nil || len(got) != 1 {
		t.Fatalf("Approvals(a) = %v, %v", got, err)
	}
	g := got[0]
	if g.Kind != directory.ApprovalDevice || g.Device != "aa-bb-cc-dd-ee-ff" || g.Reason != "medical app" || g.ApprovedBy != "head" ||
		g.RecordedBy != "cli:tech" || !g.CreatedAt.Equal(at) || !g.Until.Equal(until) || !g.RevokedAt.Equal(revoked) || g.RevokedBy != "head" {
		t.Errorf("round trip: %+v", g)
	}
	if g.InForce(at.Add(time.Hour)) {
		t.Error("a revoked approval is in force")
	}
	all, err := s.Approvals(ctx, 0)
	if err != nil || len(all) != 3 || all[1].VLAN != "30" || all[1].FilterID != "sen" || all[2].PasswordPolicy != "pupil-ks1" {
		t.Fatalf("Approvals(0) = %+v, %v", all, err)
	}
	if !all[1].InForce(at.Add(time.Hour)) || all[1].InForce(until) {
		t.Error("InForce disagrees with the approval's span")
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.DeleteAccount(ctx, b.ID) })
	if all, err := s.Approvals(ctx, 0); err != nil || len(all) != 1 {
		t.Errorf("after purging an account: %v, %v", all, err)
	}
}

// testDevices: the register of school devices, and the devices each
// account joined from, counted and forgotten.
func testDevices(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("dev", "D1"))
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	sd := directory.SchoolDevice{MAC: "00-11-22-33-44-55", Label: "trolley 3", AddedBy: "cli:tech", AddedAt: at}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.PutSchoolDevice(ctx, &sd) })
	sd.Label = "trolley 4"
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.PutSchoolDevice(ctx, &sd) })
	got, err := s.SchoolDevice(ctx, "00-11-22-33-44-55")
	if err != nil || got.Label != "trolley 4" || got.AddedBy != "cli:tech" || !got.AddedAt.Equal(at) {
		t.Errorf("SchoolDevice = %+v, %v", got, err)
	}
	if _, err := s.SchoolDevice(ctx, "00-00-00-00-00-00"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("an unregistered device: %v, want ErrNotFound", err)
	}
	if all, err := s.SchoolDevices(ctx); err != nil || len(all) != 1 {
		t.Errorf("SchoolDevices = %v, %v", all, err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		return tx.DeleteSchoolDevice(ctx, "00-11-22-33-44-55")
	})
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		return tx.DeleteSchoolDevice(ctx, "00-11-22-33-44-55")
	}); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("deleting it again: %v, want ErrNotFound", err)
	}

	for i, mac := range []string{"aa-aa-aa-aa-aa-01", "aa-aa-aa-aa-aa-02"} {
		if err := s.NoteDevice(ctx, a.ID, mac, at.Add(time.Duration(i)*time.Hour), i == 1); err != nil {
			t.Fatal(err)
		}
	}
	// Seen again later, and an older sighting arriving late: last_at keeps
	// the latest, and a flag once set stays.
	if err := s.NoteDevice(ctx, a.ID, "aa-aa-aa-aa-aa-02", at.Add(5*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteDevice(ctx, a.ID, "aa-aa-aa-aa-aa-02", at.Add(2*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Devices(ctx, a.ID)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Devices = %v, %v", ds, err)
	}
	if d := ds[1]; d.MAC != "aa-aa-aa-aa-aa-02" || !d.FirstAt.Equal(at.Add(time.Hour)) || !d.LastAt.Equal(at.Add(5*time.Hour)) || !d.Flagged || ds[0].Flagged {
		t.Errorf("devices: %+v", ds)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		return tx.ForgetDevice(ctx, a.ID, "aa-aa-aa-aa-aa-01")
	})
	if n, err := s.PruneDevices(ctx, at.Add(4*time.Hour), nil); err != nil || n != 0 {
		t.Errorf("PruneDevices kept a recent device? %d, %v", n, err)
	}
	if n, err := s.PruneDevices(ctx, at.Add(6*time.Hour), []int64{a.ID}); err != nil || n != 0 {
		t.Errorf("PruneDevices deleted a held account's device: %d, %v", n, err)
	}
	if n, err := s.PruneDevices(ctx, at.Add(6*time.Hour), []int64{a.ID + 1000}); err != nil || n != 1 {
		t.Errorf("PruneDevices = %d, %v; want 1", n, err)
	}
	if ds, err := s.Devices(ctx, 0); err != nil || len(ds) != 0 {
		t.Errorf("after forgetting and pruning: %v, %v", ds, err)
	}
}
