package lifecycle_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/lifecycle"
)

// TestJobsKeepPlans: a kept plan is applied once, not after PlanLife by
// the directory's clock, and not once KeptPlans newer plans have pushed
// it out.
func TestJobsKeepPlans(t *testing.T) {
	f := newFixture(t, openSQLite, lifecycle.Policy{})
	ctx := context.Background()
	j := lifecycle.NewJobs(f.e, lifecycle.JobsConfig{}, slog.New(slog.DiscardHandler))
	plan := func() *lifecycle.Plan {
		t.Helper()
		p, err := j.Plan(ctx, "leavers", false)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	id := j.Keep(plan())
	if _, run, err := j.ApplyKept(ctx, "user:tech", id); err != nil || run.Actor != "user:tech" {
		t.Fatalf("apply: %+v %v", run, err)
	}
	if _, _, err := j.ApplyKept(ctx, "user:tech", id); err == nil {
		t.Error("a plan applied twice")
	}

	old := j.Keep(plan())
	f.now = f.now.Add(lifecycle.PlanLife + time.Minute)
	if _, _, err := j.ApplyKept(ctx, "user:tech", old); err == nil || !strings.Contains(err.Error(), "no longer kept") {
		t.Errorf("a plan older than %v applied: %v", lifecycle.PlanLife, err)
	}

	first := j.Keep(plan())
	for range lifecycle.KeptPlans {
		j.Keep(plan())
	}
	if _, _, err := j.ApplyKept(ctx, "user:tech", first); err == nil {
		t.Errorf("the oldest of %d plans is still kept", lifecycle.KeptPlans+1)
	}
}

func TestJobsRefuseWhatIsNotConfigured(t *testing.T) {
	f := newFixture(t, openSQLite, lifecycle.Policy{})
	j := lifecycle.NewJobs(f.e, lifecycle.JobsConfig{}, slog.New(slog.DiscardHandler))
	if _, err := j.Plan(context.Background(), "sync", false); err == nil || !strings.Contains(err.Error(), "set source under [sync]") {
		t.Errorf("sync without a source: %v", err)
	}
	if _, err := j.Plan(context.Background(), "backup", false); err == nil {
		t.Error("planned an unknown job")
	}
	if j.Scheduled() {
		t.Error("scheduled with no intervals")
	}
}
