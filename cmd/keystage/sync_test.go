package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/portal"
)

// TestMain lets a test run the real command in a subprocess: the test
// binary re-executed with KEYSTAGE_RUN_MAIN=1 is keystage.
func TestMain(m *testing.M) {
	if os.Getenv("KEYSTAGE_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const syncMapping = `
[sync]
mass_change = 0.5
missing_runs = 1
[sync.csv]
id = "Adno"
given_name = "Forename"
family_name = "Surname"
fixed_role = "pupil"
year_group = "Year"
reg_group = "Reg"
leave_date = "Leaving"
`

// syncSchool is a data directory, a configuration mapping a plain CSV
// report, and a report of n pupils.
func syncSchool(t *testing.T, n int) (dir, conf, report string) {
	t.Helper()
	dir = t.TempDir()
	conf = filepath.Join(dir, "keystage.toml")
	if err := os.WriteFile(conf, []byte("data_dir = \""+dir+"\"\n"+syncMapping), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := keystage(t, "", "--config", conf, "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	report = filepath.Join(dir, "report.csv")
	writeReport(t, report, n, nil)
	return dir, conf, report
}

func writeReport(t *testing.T, path string, n int, edit func(i int, row []string) []string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("\ufeffAdno,Surname,Forename,Year,Reg,Leaving\r\n")
	for i := 0; i < n; i++ {
		year := 7 + i%5
		row := []string{fmt.Sprintf("%06d", i+1), []string{"Smith", "O'Connor-Smyth", "Nguyễn", "ap Rhys"}[i%4],
			[]string{"Zoë", "Siân", "Jack", "Thị Lan"}[i%4], fmt.Sprintf("Year %d", year), fmt.Sprintf("%d%c", year, 'A'+i%3), ""}
		if edit != nil {
			if row = edit(i, row); row == nil {
				continue
			}
		}
		for j, f := range row {
			if strings.ContainsAny(f, ",'\"") {
				row[j] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			}
		}
		b.WriteString(strings.Join(row, ",") + "\r\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSyncCommandPlanReviewApply(t *testing.T) {
	dir, conf, report := syncSchool(t, 40)
	from := "csv:" + report
	code, out, errOut := keystage(t, "", "--config", conf, "sync", "--from", from)
	if code != 0 || !strings.Contains(out, "starters:                      40") || !strings.Contains(out, "Nothing was changed") {
		t.Fatalf("plan: %d\n%s\n%s", code, out, errOut)
	}
	if n := countAccounts(t, dir); n != 0 {
		t.Fatalf("a plan without --apply created %d accounts", n)
	}
	plan := filepath.Join(dir, "plan.json")
	if code, out, errOut := keystage(t, "", "--config", conf, "sync", "--from", from, "--out", plan); code != 0 || !strings.Contains(out, "--plan "+plan) {
		t.Fatalf("--out: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := keystage(t, "", "--config", conf, "sync", "--plan", plan); code != 0 || !strings.Contains(out, "Applied") {
		t.Fatalf("--plan: %d %s %s", code, out, errOut)
	}
	if n := countAccounts(t, dir); n != 40 {
		t.Fatalf("applied %d accounts, want 40", n)
	}
	// A plan reviewed while someone else changed the directory is refused.
	writeReport(t, report, 40, func(i int, row []string) []string {
		if i == 0 {
			row[3] = "Year 8"
		}
		return row
	})
	if code, _, errOut := keystage(t, "", "--config", conf, "sync", "--from", from, "--out", plan); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := keystage(t, "", "--config", conf, "sync", "--from", from, "--apply"); code != 0 {
		t.Fatal(errOut)
	}
	code, _, errOut = keystage(t, "", "--config", conf, "sync", "--plan", plan)
	if code != 1 || !strings.Contains(errOut, "changed since the plan was made") || !strings.Contains(errOut, "make a new plan") {
		t.Fatalf("stale plan: %d %s", code, errOut)
	}
	// A truncated export is refused with its reason.
	writeReport(t, report, 10, nil)
	code, out, _ = keystage(t, "", "--config", conf, "sync", "--from", from, "--apply")
	if code != 1 || !strings.Contains(out, "REFUSED AS A MASS CHANGE") || !strings.Contains(out, "--allow-mass-change") {
		t.Fatalf("mass change: %d %s", code, out)
	}
	if n := countStatus(t, dir, directory.StatusDisabled); n != 0 {
		t.Fatalf("a refused run disabled %d", n)
	}
	code, out, errOut = keystage(t, "", "--config", conf, "sync", "--from", from, "--apply", "--allow-mass-change")
	if code != 0 {
		t.Fatalf("allowed: %s", errOut)
	}
	// The override is said, not a refusal followed by "Applied".
	if strings.Contains(out, "REFUSED") || !strings.Contains(out, "ALLOWED BY --allow-mass-change") || !strings.Contains(out, "Applied with --allow-mass-change") {
		t.Errorf("the output does not say the override was used:\n%s", out)
	}
	if n := countStatus(t, dir, directory.StatusDisabled); n != 30 {
		t.Fatalf("allowed mass change disabled %d, want 30", n)
	}
	// The leaver job's plan as of a date far ahead shows the purges as a
	// preview (refused by the purge breaker, 30 of 40), and never applies.
	code, out, errOut = keystage(t, "", "--config", conf, "leavers", "--as-of", "2099-01-01")
	if code != 1 || !strings.Contains(out, "to purge:                      30") || !strings.Contains(out, "it would purge 30 of 40") || !strings.Contains(out, "a preview") {
		t.Fatalf("leavers: %d %s %s", code, out, errOut)
	}
	code, _, errOut = keystage(t, "", "--config", conf, "leavers", "--as-of", "2099-01-01", "--apply", "--allow-mass-change")
	if code != 2 || !strings.Contains(errOut, "still to come") {
		t.Fatalf("leavers --as-of a date to come --apply: %d %s", code, errOut)
	}
	if n := countStatus(t, dir, directory.StatusDisabled); n != 30 {
		t.Fatalf("a refused future leaver run purged: %d disabled left, want 30", n)
	}
}

func countAccounts(t *testing.T, dir string) int { return countStatus(t, dir, "") }

func countStatus(t *testing.T, dir string, st directory.Status) int {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "keystage.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.CountAccounts(context.Background(), directory.AccountQuery{Status: st})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSyncKilledMidApplyLeavesBeforeOrAfter runs the real command in a
// subprocess, kills it with SIGKILL while its transaction is under way,
// and finds the directory exactly as it was before or exactly as after.
func TestSyncKilledMidApplyLeavesBeforeOrAfter(t *testing.T) {
	const n = 4000
	dir, conf, report := syncSchool(t, n)
	ctx := context.Background()
	cmd := exec.Command(os.Args[0], "--config", conf, "sync", "--from", "csv:"+report, "--apply")
	cmd.Env = append(os.Environ(), "KEYSTAGE_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Progress lines are printed from inside the transaction: the first
	// one past zero means accounts are being written.
	sc := bufio.NewScanner(stderr)
	killed := false
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "applying: ") && !strings.HasPrefix(line, "applying: 0 ") {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the apply finished before it could be killed (%v): nothing tested", err)
	}
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatalf("store after the kill: %v", err)
	}
	accounts, _ := s.CountAccounts(ctx, directory.AccountQuery{})
	groups, _ := s.ListGroups(ctx, directory.GroupQuery{})
	runs, _ := s.SyncRuns(ctx, "", 0)
	seq, _, _ := s.AuditHead(ctx)
	switch {
	case accounts == 0 && len(groups) == 0 && len(runs) == 0 && seq == 0:
		t.Logf("killed mid-apply: the directory is exactly as before")
	case accounts == n && len(runs) == 1:
		t.Logf("the apply committed before the kill landed: the directory is exactly as after")
	default:
		t.Fatalf("half an apply: %d accounts, %d groups, %d runs, audit seq %d", accounts, len(groups), len(runs), seq)
	}
	events, err := s.AuditEvents(ctx, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	v := audit.NewVerifier(0, "")
	for _, ev := range events {
		if err := v.Next(ev); err != nil {
			t.Fatalf("audit chain after the kill: %v", err)
		}
	}
	s.Close()
	// And the same command then completes.
	if code, _, errOut := keystage(t, "", "--config", conf, "sync", "--from", "csv:"+report, "--apply"); code != 0 {
		t.Fatalf("apply after the kill: %s", errOut)
	}
	if got := countAccounts(t, dir); got != n {
		t.Fatalf("after a clean apply: %d accounts, want %d", got, n)
	}
}

// demoSyncStore is an empty SQLite store in a data directory holding the
// demo's MIS export, and the demo's configuration for it.
func demoSyncStore(t *testing.T) (string, *sqlstore.Store, Config) {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := defaults()
	cfg.DataDir = dir
	cfg.Sync.demo(dir)
	if err := cfg.validate().err(""); err != nil {
		t.Fatal(err)
	}
	if err := writeDemoExport(dir, time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return dir, s, cfg
}

func TestPortalJobsPlanAndApply(t *testing.T) {
	_, s, cfg := demoSyncStore(t)
	ctx := context.Background()
	d := directory.New(s, directory.Config{})
	j := portal.JobsLifecycle(newJobs(d, &cfg, slog.New(slog.DiscardHandler)))
	p, err := j.Plan(ctx, "sync")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, c := range p.Summary {
		counts[c.What] = c.N
	}
	// An empty directory: everyone in the export but the leavers starts.
	if counts["starters"] < 300 || p.ID == "" || len(p.Lines) == 0 {
		t.Fatalf("plan: %+v", counts)
	}
	res, err := j.Apply(ctx, "user:tech", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Actor != "user:tech" || res.Run.Counts["start"] != counts["starters"] {
		t.Errorf("applied: %+v", res.Run)
	}
	if _, err := j.Apply(ctx, "user:tech", p.ID); err == nil {
		t.Errorf("a plan applied twice")
	}
	again, err := j.Plan(ctx, "sync")
	if err != nil {
		t.Fatal(err)
	}
	grades := 0
	for _, l := range again.Lines {
		switch l.Action {
		case "grade": // what each grade became, first
			grades++
		case "skip": // past leavers who never had an account, with why
		default:
			t.Errorf("after the apply the export changes nothing: %+v", l)
		}
	}
	if grades == 0 || again.Lines[0].Action != "grade" {
		t.Errorf("the portal's plan does not show the grades first: %+v", again.Lines)
	}
	if _, err := j.Plan(ctx, "leavers"); err != nil {
		t.Errorf("leavers plan: %v", err)
	}
}

func TestScheduledJobs(t *testing.T) {
	dir, s, cfg := demoSyncStore(t)
	ctx := context.Background()
	var logs strings.Builder
	d := directory.New(s, directory.Config{})
	var ran []string // job/result, as keystage_job_runs_total counts them
	d.OnJobRun(func(job, result string, _ time.Duration) { ran = append(ran, job+"/"+result) })
	log := slog.New(slog.NewTextHandler(&logs, nil))
	j := newJobs(d, &cfg, log)
	j.RunScheduled(ctx, "sync")
	runs, _ := s.SyncRuns(ctx, "sync", 0)
	if len(runs) != 1 || runs[0].Actor != "schedule" || runs[0].Counts["start"] < 300 {
		t.Fatalf("scheduled sync: %+v\n%s", runs, logs.String())
	}
	// An export that lost most of its rows is left for a person.
	if err := os.RemoveAll(filepath.Join(dir, demoExport)); err != nil {
		t.Fatal(err)
	}
	writeReport(t, filepath.Join(dir, "short.csv"), 3, nil)
	cfg.Sync.Source, cfg.Sync.CSV = "csv:"+filepath.Join(dir, "short.csv"), syncTestMapping()
	j = newJobs(d, &cfg, log)
	j.RunScheduled(ctx, "sync")
	if runs, _ := s.SyncRuns(ctx, "sync", 0); len(runs) != 1 {
		t.Errorf("a mass change was applied on a schedule: %+v", runs)
	}
	if !strings.Contains(logs.String(), "refused as a mass change") {
		t.Errorf("not logged:\n%s", logs.String())
	}
	j.RunScheduled(ctx, "leavers")
	if runs, _ := s.SyncRuns(ctx, "leavers", 0); len(runs) != 1 {
		t.Errorf("scheduled leaver job: %+v\n%s", runs, logs.String())
	}
	// While another holder has the lock, the run is skipped.
	release, ok, err := s.TryJobLock(ctx, "lifecycle")
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	j.RunScheduled(ctx, "leavers")
	release()
	if want := []string{"sync/ok", "sync/refused", "leavers/ok", "leavers/skipped"}; !slices.Equal(ran, want) {
		t.Errorf("job runs observed %v, want %v", ran, want)
	}
}

func syncTestMapping() lifecycle.CSVMapping {
	return lifecycle.CSVMapping{ID: "Adno", GivenName: "Forename", FamilyName: "Surname", FixedRole: "pupil", YearGroup: "Year", RegGroup: "Reg", LeaveDate: "Leaving"}
}
