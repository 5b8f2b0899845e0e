package directory_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// The retention schedule forgets old device records and prunes the
// trail's oldest events by a signed prune: the trail still verifies, the
// prune and the run are recorded, and recent events stay.
func TestApplyRetentionKeepsTheTrailVerifiable(t *testing.T) {
	ctx := context.Background()
	f, p := controlled(t, directory.DevicePolicy{})
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer := audit.NewSigner(key)
	start := f.now
	if err := f.s.NoteDevice(ctx, p["tech"].ID, "aa-aa-aa-aa-aa-01", start, false); err != nil {
		t.Fatal(err)
	}
	// Two years on: a recent device, and a recent change.
	f.now = start.AddDate(2, 0, 0)
	if err := f.s.NoteDevice(ctx, p["tech"].ID, "aa-aa-aa-aa-aa-02", f.now, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.RegisterSchoolDevice(ctx, "cli:tech", "00:11:22:33:44:55", "trolley"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := directory.Checkpoint(ctx, f.s, signer, f.now); err != nil {
		t.Fatal(err)
	}
	sched := directory.RetentionSchedule{Devices: 365 * 24 * time.Hour, AuditEvents: 365 * 24 * time.Hour}
	plan, err := f.d.ApplyRetention(ctx, "job:retention", sched, signer, false)
	if err != nil || plan.Audit.Removed == 0 || plan.Devices != 0 {
		t.Fatalf("plan: %+v %v", plan, err)
	}
	if ds, _ := f.s.Devices(ctx, 0); len(ds) != 2 {
		t.Fatalf("a plan deleted devices: %v", ds)
	}
	res, err := f.d.ApplyRetention(ctx, "job:retention", sched, signer, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Devices != 1 || res.Audit.Removed != plan.Audit.Removed || res.Pruned.Action != audit.ActionPrune {
		t.Fatalf("apply: %+v", res)
	}
	if ds, _ := f.s.Devices(ctx, 0); len(ds) != 1 || ds[0].MAC != "aa-aa-aa-aa-aa-02" {
		t.Errorf("devices after: %v", ds)
	}
	if _, _, err := directory.Checkpoint(ctx, f.s, signer, f.now); err != nil {
		t.Fatal(err)
	}
	rep, err := directory.VerifyTrail(ctx, f.s, audit.NewKeys(signer.Public()))
	if err != nil {
		t.Fatalf("the trail does not verify after the prune: %v", err)
	}
	if rep.PrunedBy != res.Pruned.Seq {
		t.Errorf("verify reports the prune at %d, want %d", rep.PrunedBy, res.Pruned.Seq)
	}
	evs := eventsAbout(t, f.s, "retention")
	if len(evs) != 1 || evs[0] != string(audit.ActionRetentionApply) {
		t.Errorf("retention events: %v", evs)
	}
	if got := eventsAbout(t, f.s, "device:00-11-22-33-44-55"); len(got) != 1 {
		t.Errorf("a recent event went: %v", got)
	}
}

// A person under a legal hold keeps every record: the trail's prune stops
// before the first event about them, and their devices stay.
func TestApplyRetentionKeepsWhatIsHeld(t *testing.T) {
	ctx := context.Background()
	f, p := controlled(t, directory.DevicePolicy{})
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer := audit.NewSigner(key)
	start := f.now
	for _, who := range []string{"tech", "zpupil"} {
		if err := f.s.NoteDevice(ctx, p[who].ID, "aa-aa-aa-aa-aa-01", start, false); err != nil {
			t.Fatal(err)
		}
	}
	// An event about the pupil, then more about others.
	if _, err := f.d.Approve(ctx, "cli:tech", p["headteacher"], p["zpupil"], directory.Approval{Kind: directory.ApprovalDevice,
		Reason: "medical", Until: start.AddDate(0, 1, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.RegisterSchoolDevice(ctx, "cli:tech", "00:11:22:33:44:55", "trolley"); err != nil {
		t.Fatal(err)
	}
	f.now = start.AddDate(2, 0, 0)
	sched := directory.RetentionSchedule{Devices: 365 * 24 * time.Hour, AuditEvents: 365 * 24 * time.Hour}
	whole, err := f.d.ApplyRetention(ctx, "job:retention", sched, signer, false)
	if err != nil {
		t.Fatal(err)
	}
	about, err := f.s.AuditEventsAbout(ctx, "account:zpupil", 0, 1)
	if err != nil || len(about) != 1 {
		t.Fatalf("events about the pupil: %v %v", about, err)
	}
	// A legal hold set by the safeguarding lead keeps the pupil's records:
	// the schedule need not name them.
	if _, err := f.d.SetLegalHold(ctx, "cli:dsl", []string{directory.StaffRoleSafeguarding}, p["zpupil"],
		directory.LegalHold{Kind: directory.HoldSafeguarding, Reason: "open case", Reference: "CP-12"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.d.ApplyRetention(ctx, "job:retention", sched, signer, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Audit.KeepFrom != about[0].Seq || res.Audit.Removed >= whole.Audit.Removed {
		t.Errorf("the prune went past the held person's first event %d: %+v (without the hold %+v)", about[0].Seq, res.Audit, whole.Audit)
	}
	if evs, _ := f.s.AuditEventsAbout(ctx, "account:zpupil", 0, 100); len(evs) == 0 || evs[0].Seq != about[0].Seq {
		t.Errorf("the held person's events: %+v", evs)
	}
	ds, _ := f.s.Devices(ctx, 0)
	if res.Devices != 1 || len(ds) != 1 || ds[0].AccountID != p["zpupil"].ID {
		t.Errorf("devices after: %d deleted, %+v left", res.Devices, ds)
	}
	if _, err := directory.VerifyTrail(ctx, f.s, audit.NewKeys(signer.Public())); err != nil {
		t.Errorf("the trail does not verify: %v", err)
	}
}
