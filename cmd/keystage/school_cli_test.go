package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

// trustConfig writes a configuration of a trust of two schools.
func trustConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "keystage.toml")
	cfg := "data_dir = " + quoteTOML(dir) + "\nschool = \"Riverside Trust\"\n" +
		"[[schools]]\nid = \"north\"\nname = \"Northgate Academy\"\norg_ids = [\"org-n\"]\n" +
		"[[schools]]\nid = \"south\"\nname = \"Southfield School\"\norg_ids = [\"org-s\"]\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSchoolScopeOnCommandLine: a school's technician (--as) reads and
// changes their school's people only, and is refused, with the reason and
// an audit event, on another school's; a trust technician acts on all; a
// transfer keeps the account and moves it into the other school's scope.
func TestSchoolScopeOnCommandLine(t *testing.T) {
	dir := t.TempDir()
	cfg := trustConfig(t, dir)
	ks := func(args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, "", append([]string{"--config", cfg}, args...)...)
	}
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := ks(args...)
		if code != 0 {
			t.Fatalf("%v: %d %s %s", args, code, out, errOut)
		}
		return out
	}
	must("migrate", "up")
	must("group", "add", "portal-technicians")
	must("group", "add", "portal-safeguarding")
	must("account", "add", "--username", "ntech", "--role", "staff", "--school", "north", "--group", "portal-technicians", "--group", "portal-safeguarding")
	must("account", "add", "--username", "ttech", "--role", "staff", "--group", "portal-technicians", "--group", "portal-safeguarding")
	must("account", "add", "--username", "npupil", "--role", "pupil", "--year", "7", "--school", "north")
	must("account", "add", "--username", "spupil", "--role", "pupil", "--year", "8", "--school", "south")
	if code, _, errOut := ks("account", "add", "--username", "xpupil", "--role", "pupil", "--school", "west"); code == 0 || !strings.Contains(errOut, "not one of the trust's") {
		t.Errorf("unknown school: %d %s", code, errOut)
	}

	// The school's technician sees their school.
	out := must("--as", "ntech", "account", "list")
	if !strings.Contains(out, "npupil") || strings.Contains(out, "spupil") || strings.Contains(out, "ttech") || !strings.Contains(out, "SCHOOL") {
		t.Errorf("north's technician lists:\n%s", out)
	}
	if out := must("--as", "ntech", "account", "show", "npupil"); !strings.Contains(out, "north (Northgate Academy)") {
		t.Errorf("show:\n%s", out)
	}
	// … and is refused on south's pupil, saying why, on reading and changing.
	for _, args := range [][]string{
		{"account", "show", "spupil"},
		{"suspend", "spupil", "--for", "1d", "--reason", "proof"},
		{"account", "disable", "spupil", "--reason", "proof"},
		{"account", "transfer", "spupil", "--to", "north"},
	} {
		code, _, errOut := ks(append([]string{"--as", "ntech"}, args...)...)
		if code == 0 || !strings.Contains(errOut, "spupil belongs to school south, and you act for school north") {
			t.Errorf("%v as north's technician: %d %s", args, code, errOut)
		}
	}
	if code, _, errOut := ks("--as", "ntech", "account", "transfer", "npupil", "--to", "south"); code == 0 || !strings.Contains(errOut, "made by the trust's staff") {
		t.Errorf("north's technician transfers their own pupil: %d %s", code, errOut)
	}
	if code, _, errOut := ks("--as", "ntech", "account", "list", "--school", "south"); code == 0 || !strings.Contains(errOut, "you act for school north") {
		t.Errorf("list south as north: %d %s", code, errOut)
	}
	// Someone with no staff role cannot act at all.
	if code, _, errOut := ks("--as", "npupil", "account", "list"); code == 0 || !strings.Contains(errOut, "not an active member of staff") {
		t.Errorf("--as a pupil: %d %s", code, errOut)
	}
	// The trust's technician acts on everyone.
	if out := must("--as", "ttech", "account", "show", "spupil"); !strings.Contains(out, "south (Southfield School)") {
		t.Errorf("trust technician:\n%s", out)
	}
	must("--as", "ttech", "suspend", "spupil", "--for", "1d", "--reason", "proof")

	// Every refusal is in the trail, with who and why.
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "keystage.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.AuditEventsByAction(context.Background(), "scope.refused", time.Time{}, 100)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 4 {
		t.Fatalf("%d refusals recorded, want 4: %+v", len(evs), evs)
	}
	for _, ev := range evs {
		if ev.Actor != "cli:ntech" || ev.Target != "account:spupil" || !strings.Contains(string(ev.After), `"acting_school":"north"`) {
			t.Errorf("refusal event: %s %s %s", ev.Actor, ev.Target, ev.After)
		}
	}

	// A transfer keeps the account: same uidNumber, now in north's scope.
	before := must("account", "show", "spupil")
	must("account", "transfer", "spupil", "--to", "north")
	after := must("--as", "ntech", "account", "show", "spupil")
	if uid(before) == "" || uid(before) != uid(after) || !strings.Contains(after, "north (Northgate Academy)") {
		t.Errorf("transfer:\nbefore %s\nafter %s", before, after)
	}
	// Dual registration: one account in both schools' lists.
	must("account", "schools", "npupil", "--also", "south")
	if out := must("account", "list", "--school", "south"); !strings.Contains(out, "npupil") || !strings.Contains(out, "north+south") {
		t.Errorf("dual registration in south's list:\n%s", out)
	}
	if out := must("account", "list", "--school", "trust"); !strings.Contains(out, "ttech") || strings.Contains(out, "ntech") {
		t.Errorf("the trust's own:\n%s", out)
	}
}

func uid(show string) string {
	for _, l := range strings.Split(show, "\n") {
		if strings.HasPrefix(l, "uidNumber:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "uidNumber:"))
		}
	}
	return ""
}

// TestSyncEachSchoolOnItsOwn: keystage sync of a trust plans and applies
// each school's part of a trust-wide OneRoster export on its own; a school
// whose part is missing is reported and the others are synced.
func TestSyncEachSchoolOnItsOwn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keystage.toml")
	from := "oneroster:" + filepath.Join("..", "..", "lifecycle", "testdata", "oneroster-trust")
	cfg := "data_dir = " + quoteTOML(dir) + "\n" +
		"[[schools]]\nid = \"north\"\nname = \"Northgate Academy\"\norg_ids = [\"org-north\"]\n" +
		"[[schools]]\nid = \"south\"\nname = \"Southfield School\"\norg_ids = [\"org-south\"]\n" +
		"[[schools]]\nid = \"west\"\nname = \"Westbrook\"\norg_ids = [\"org-west\"]\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ks := func(args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, "", append([]string{"--config", path}, args...)...)
	}
	if code, out, errOut := ks("migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	code, out, errOut := ks("sync", "--from", from, "--apply")
	if code != 1 || !strings.Contains(errOut, "1 of 3 schools not synced ([west])") ||
		!strings.Contains(out, "== north (Northgate Academy)") || !strings.Contains(out, "missing or late") {
		t.Fatalf("sync: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = ks("account", "list", "--school", "north")
	if code != 0 || !strings.Contains(out, "north") || !strings.Contains(out, "north+south") || strings.Contains(out, "Dean") {
		t.Errorf("north after the sync:\n%s", out)
	}
	if code, out, errOut := ks("sync", "--from", from, "--school", "south", "--out", filepath.Join(dir, "south.json")); code != 0 || !strings.Contains(out, "Plan written") {
		t.Errorf("one school's plan: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("sync", "--plan", filepath.Join(dir, "south.json"), "--school", "north"); code != 1 || !strings.Contains(errOut, `is school "south"'s`) {
		t.Errorf("south's plan applied as north's: %d %s", code, errOut)
	}
	if code, out, errOut := ks("sync", "--plan", filepath.Join(dir, "south.json"), "--school", "south"); code != 0 || !strings.Contains(out, "Applied") {
		t.Errorf("south's reviewed plan: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("sync", "--from", from, "--out", filepath.Join(dir, "all.json")); code != 2 || !strings.Contains(errOut, "add --school") {
		t.Errorf("a plan file for every school: %d %s", code, errOut)
	}
}

// TestRegisterPerSchool: the access register of one school, of the trust,
// now and as of an earlier date, and a school's staff given their own.
func TestRegisterPerSchool(t *testing.T) {
	dir := t.TempDir()
	cfg := trustConfig(t, dir)
	ks := func(args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, "", append([]string{"--config", cfg}, args...)...)
	}
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := ks(args...)
		if code != 0 {
			t.Fatalf("%v: %d %s %s", args, code, out, errOut)
		}
		return out
	}
	must("migrate", "up")
	must("group", "add", "portal-auditors")
	must("account", "add", "--username", "naudit", "--role", "staff", "--school", "north", "--group", "portal-auditors")
	must("account", "add", "--username", "npupil", "--role", "pupil", "--year", "7", "--school", "north")
	must("account", "add", "--username", "spupil", "--role", "pupil", "--year", "8", "--school", "south")
	must("account", "add", "--username", "cfo", "--role", "staff")
	north := must("register", "export", "--school", "north")
	if !strings.Contains(north, "npupil") || strings.Contains(north, "spupil") || strings.Contains(north, "cfo") || !strings.Contains(north, ",School") {
		t.Errorf("north's register:\n%s", north)
	}
	for _, asOf := range []string{"", time.Now().Format("2006-01-02")} {
		args := []string{"register", "export", "--school", "trust"}
		if asOf != "" {
			args = append(args, "--as-of", asOf)
		}
		if own := must(args...); !strings.Contains(own, "cfo") || strings.Contains(own, "npupil") {
			t.Errorf("the trust's own register (as of %q):\n%s", asOf, own)
		}
	}
	if all := must("register", "export"); !strings.Contains(all, "npupil") || !strings.Contains(all, "spupil") || !strings.Contains(all, "cfo") {
		t.Errorf("the trust's register:\n%s", all)
	}
	today := time.Now().Format("2006-01-02")
	if past := must("register", "export", "--school", "south", "--as-of", today); !strings.Contains(past, "spupil") || strings.Contains(past, "npupil") {
		t.Errorf("south's register rebuilt from the trail:\n%s", past)
	}
	if mine := must("--as", "naudit", "register", "export", "--as-of", today); !strings.Contains(mine, "npupil") || strings.Contains(mine, "spupil") {
		t.Errorf("north's auditor's register:\n%s", mine)
	}
	if code, _, errOut := ks("--as", "naudit", "register", "export", "--school", "south"); code == 0 || !strings.Contains(errOut, "you act for school north") {
		t.Errorf("north's auditor asks for south's: %d %s", code, errOut)
	}
	if out := must("--as", "naudit", "review"); strings.Contains(out, "cfo") {
		t.Errorf("north's review:\n%s", out)
	}
	// A school's auditor is no technician.
	if code, _, errOut := ks("--as", "naudit", "account", "disable", "npupil", "--reason", "proof"); code == 0 || !strings.Contains(errOut, "is for a technician, and naudit is auditor") {
		t.Errorf("north's auditor disables a pupil: %d %s", code, errOut)
	}
	// A school's people's first-password slips carry the school's name.
	if out := must("password", "issue", "--user", "naudit"); !strings.Contains(out, "Northgate Academy") {
		t.Errorf("north's slip:\n%.1500s", out)
	}
}

// TestDemoTrust: keystage demo --trust seeds two schools with different
// AUPs; Southfield's people are refused until they sign Southfield's, the
// demo school's (Northgate) still get in on their earlier signatures; the
// printed commands work as printed.
func TestDemoTrust(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := keystage(t, "", "--data", dir, "demo", "--trust", "--no-serve")
	if code != 0 || !strings.Contains(out, "Southfield School") || !strings.Contains(out, "--as ") {
		t.Fatalf("demo --trust: %d %s %s", code, out, errOut)
	}
	conf := filepath.Join(dir, "keystage.toml")
	code, out, _ = keystage(t, "", "--config", conf, "aup", "list")
	if code != 0 || !strings.Contains(out, "north-2026.2") || !strings.Contains(out, "south-2026.1") {
		t.Errorf("aup list: %s", out)
	}
	code, out, _ = keystage(t, "", "--config", conf, "account", "list", "--school", "south", "--role", "pupil")
	if code != 0 || strings.Count(out, "\n") != 61 { // header and 60 pupils
		t.Errorf("Southfield's pupils: %d lines\n%s", strings.Count(out, "\n"), out)
	}
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "keystage.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	gate := &directory.Gate{Store: s}
	south, err := s.AccountByMISID(ctx, demoSouthPupil)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := gate.Check(ctx, south, directory.ServiceLDAP, time.Now()); err != nil || d.Reason != directory.ReasonAUPUnsigned {
		t.Errorf("Southfield's pupil: %+v %v", d, err)
	}
	north, err := s.AccountByMISID(ctx, demoPupilMIS)
	if err != nil {
		t.Fatal(err)
	}
	if north.School != "north" {
		t.Errorf("the demo pupil is at %q", north.School)
	}
	if d, err := gate.Check(ctx, north, directory.ServiceLDAP, time.Now()); err != nil || !d.Allow {
		t.Errorf("Northgate's pupil: %+v %v", d, err)
	}
	tech, err := s.AccountByMISID(ctx, demoTechnicianMIS)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := keystage(t, "", "--config", conf, "--as", tech.Username, "account", "show", south.Username); code == 0 || !strings.Contains(errOut, "belongs to school south") {
		t.Errorf("Northgate's technician on Southfield's pupil: %d %s", code, errOut)
	}
}

// TestSchoolPasswordRoles: a school chooses its own password policy for a
// role; the others follow [passwords.roles]; a policy that does not exist
// is refused with the school named.
func TestSchoolPasswordRoles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keystage.toml")
	write := func(pupil string) {
		cfg := "data_dir = " + quoteTOML(dir) + "\n" +
			"[[schools]]\nid = \"north\"\nname = \"Northgate\"\npassword_roles = { pupil = " + strconv.Quote(pupil) + " }\n" +
			"[[schools]]\nid = \"south\"\nname = \"Southfield\"\n"
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("nonesuch")
	if _, err := loadConfig(path, ""); err == nil || !strings.Contains(err.Error(), `schools "north": password_roles.pupil: no policy named "nonesuch"`) {
		t.Errorf("unknown policy: %v", err)
	}
	write("pupil-ks2")
	cfg, err := loadConfig(path, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a    directory.Account
		want string
	}{
		{directory.Account{Role: directory.RolePupil, YearGroup: "9", School: "north"}, "pupil-ks2"},
		{directory.Account{Role: directory.RolePupil, YearGroup: "9", School: "south"}, "staff"},
		{directory.Account{Role: directory.RoleStaff, School: "north"}, "staff"},
		{directory.Account{Role: directory.RolePupil, YearGroup: "9"}, "staff"},
	} {
		if got := cfg.policyFor(tc.a); got != tc.want {
			t.Errorf("%s year %s at %q: policy %q, want %q", tc.a.Role, tc.a.YearGroup, tc.a.School, got, tc.want)
		}
	}
}

// TestAsRefusedForTrustCommands: the commands of the whole trust (the
// server, the store's care, the audit trail) refuse --as, so a school's
// staff never run them, and a server is never bounded to one school.
func TestAsRefusedForTrustCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := trustConfig(t, dir)
	for _, args := range [][]string{{"serve"}, {"audit", "verify"}, {"migrate", "up"}, {"nas", "list"}} {
		code, _, errOut := keystage(t, "", append([]string{"--config", cfg, "--as", "ntech"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "runs for the whole trust") {
			t.Errorf("%v --as: %d %s", args, code, errOut)
		}
	}
	if code, out, _ := keystage(t, "", "--as", "ntech", "version"); code != 0 || !strings.HasPrefix(out, "keystage ") {
		t.Errorf("version --as: %d %s", code, out)
	}
}
