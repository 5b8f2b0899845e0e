package main

import (
	"context"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

// registerRows runs keystage register export (CSV) with args and returns
// the rows by username.
func registerRows(t *testing.T, conf string, args ...string) map[string]map[string]string {
	t.Helper()
	code, out, errOut := keystage(t, "", append([]string{"--config", conf, "register", "export"}, args...)...)
	if code != 0 {
		t.Fatalf("register export %v: %d %s", args, code, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("register export %v: %v\n%s", args, err, out)
	}
	rows := map[string]map[string]string{}
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		rows[row["Username"]] = row
	}
	return rows
}

// The access register follows what the MIS sync and the leaver job do, now
// and as it stood: starters appear, leavers show disabled, and people the
// retention job purged are still in the register as of the days they were
// on roll, rebuilt from the audit trail.
func TestRegisterFollowsTheSync(t *testing.T) {
	dir, conf, report := syncSchool(t, 12)
	from := "csv:" + report
	if code, _, errOut := keystage(t, "", "--config", conf, "sync", "--from", from, "--apply"); code != 0 {
		t.Fatal(errOut)
	}
	now := registerRows(t, conf)
	if len(now) != 12 {
		t.Fatalf("register after the first sync: %d people, want 12", len(now))
	}
	for name, r := range now {
		if r["State"] != "active" || r["Role"] != "pupil" || r["MIS id"] == "" || r["Year"] == "" {
			t.Errorf("%s: %v", name, r)
		}
	}
	yesterday := time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	if before := registerRows(t, conf, "--as-of", yesterday); len(before) != 0 {
		t.Fatalf("register as of %s, before the sync: %d people", yesterday, len(before))
	}

	// Three leave the roll (more than the mass-change share: allowed).
	writeReport(t, report, 12, func(i int, row []string) []string {
		if i < 3 {
			return nil
		}
		return row
	})
	if code, _, errOut := keystage(t, "", "--config", conf, "sync", "--from", from, "--apply", "--allow-mass-change"); code != 0 {
		t.Fatal(errOut)
	}
	now = registerRows(t, conf)
	disabled := 0
	for _, r := range now {
		if r["State"] == "disabled" {
			disabled++
			if r["Disabled"] == "" || r["Wi-Fi credential revoked"] == "" && r["Wi-Fi credential issued"] != "" {
				t.Errorf("a leaver without its dates: %v", r)
			}
		}
	}
	if disabled != 3 || len(now) != 12 {
		t.Fatalf("after three left: %d of %d disabled, want 3 of 12", disabled, len(now))
	}

	// The retention job purges them once the retention period has passed
	// since they were really disabled (here, as if 400 days ago); the
	// register as of today still has them as they stood, the current one
	// no longer does.
	backdateDisabled(t, dir, 400*24*time.Hour)
	code, out, errOut := keystage(t, "", "--config", conf, "leavers", "--apply")
	if code != 0 || !strings.Contains(out, "to purge:                      3") {
		t.Fatalf("leavers: %d %s %s", code, out, errOut)
	}
	if now = registerRows(t, conf); len(now) != 9 {
		t.Fatalf("current register after the purge: %d people, want 9", len(now))
	}
	today := time.Now().Format("2006-01-02")
	asOf := registerRows(t, conf, "--as-of", today)
	if len(asOf) != 12 {
		t.Fatalf("register as of %s: %d people, want the 12 who were on roll", today, len(asOf))
	}
	purged := 0
	for _, r := range asOf {
		if r["Purged"] != "" {
			purged++
		}
	}
	if purged != 3 {
		t.Errorf("register as of today names %d purges, want 3", purged)
	}
}

// backdateDisabled moves the disable instant of every disabled account back
// by d, in one audited transaction, as if they had been disabled then.
func backdateDisabled(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	accts, err := s.ListAccounts(ctx, directory.AccountQuery{Status: directory.StatusDisabled})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		for _, a := range accts {
			if _, err := tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error { x.DisabledAt = x.DisabledAt.Add(-d); return nil }); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.backdate", Target: "school"})
	})
	if err != nil {
		t.Fatal(err)
	}
}
