package main

import (
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

// TestPasswordIssueAndReset: keystage password issue gives first
// passwords to the people asked for, skips a pupil without parental
// consent with the reason, writes the slips and the CSV 0600 and never
// over an old file; the password signs in to the portal, is refused by
// LDAP until changed, and a reset replaces it, in the trail with who did
// it.
func TestPasswordIssueAndReset(t *testing.T) {
	dir := t.TempDir()
	for _, a := range [][]string{
		{"--username", "jteach", "--role", "staff", "--given", "Jo", "--family", "Teach"},
		{"--username", "mtech", "--role", "staff", "--given", "Mo", "--family", "Tech"},
		{"--username", "apupil", "--role", "pupil", "--given", "Amy", "--family", "Pond", "--year", "7", "--reg", "7A"},
	} {
		if code, _, errOut := keystage(t, "", append([]string{"--data", dir, "account", "add"}, a...)...); code != 0 {
			t.Fatalf("add: %d %s", code, errOut)
		}
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "password", "issue"); code != 2 || !strings.Contains(errOut, "say whom") {
		t.Errorf("issue to nobody: %d %s", code, errOut)
	}
	out := filepath.Join(dir, "slips.html")
	csvPath := filepath.Join(dir, "merge.csv")
	code, stdout, errOut := keystage(t, "", "--data", dir, "password", "issue", "--starters", "--out", out, "--csv", csvPath)
	if code != 0 {
		t.Fatalf("issue --starters: %d %s", code, errOut)
	}
	if stdout != "" {
		t.Errorf("with --out, the slips went to standard output too")
	}
	if !strings.Contains(errOut, "issued 2 first password(s)") || !strings.Contains(errOut, "apupil (Amy Pond): no parental consent") {
		t.Errorf("issue --starters said:\n%s", errOut)
	}
	for _, f := range []string{out, csvPath} {
		if m := permOf(t, f); m != 0o600 {
			t.Errorf("%s is %o, want 600", f, m)
		}
	}
	html, _ := os.ReadFile(out)
	if !strings.Contains(string(html), "@page") || !strings.Contains(string(html), "jteach") || strings.Contains(string(html), "apupil") {
		t.Errorf("slips:\n%s", html)
	}
	f, _ := os.Open(csvPath)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 3 {
		t.Fatalf("CSV: %v %q", err, rows)
	}
	first := map[string]string{}
	for _, r := range rows[1:] {
		first[r[1]] = r[3]
		if !strings.Contains(string(html), r[3]) {
			t.Errorf("the CSV and the slips disagree on %s", r[1])
		}
	}
	if _, show, _ := keystage(t, "", "--data", dir, "account", "show", "jteach"); !strings.Contains(show, "login password:  first password, to be changed at the first sign-in") {
		t.Errorf("account show after issue:\n%s", show)
	}
	if _, show, _ := keystage(t, "", "--data", dir, "account", "show", "apupil"); !strings.Contains(show, "none (keystage password issue --user apupil)") {
		t.Errorf("account show of a pupil with no password:\n%s", show)
	}
	// Starters are those without a password: nobody is left.
	if code, _, errOut := keystage(t, "", "--data", dir, "password", "issue", "--starters", "--out", filepath.Join(dir, "again.html")); code != 0 || !strings.Contains(errOut, "issued 0") {
		t.Errorf("a second --starters: %d %s", code, errOut)
	}
	// An old sheet is never overwritten.
	if code, _, errOut := keystage(t, "", "--data", dir, "password", "reset", "jteach", "--out", out); code == 0 || !strings.Contains(errOut, "never overwritten") {
		t.Errorf("reset over an existing file: %d %s", code, errOut)
	}

	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, dataDir: dir, stdout: io.Discard, stderr: io.Discard}
	d := e.directory(s)
	if _, err := d.Authenticate(ctx, "jteach", first["jteach"], directory.ServicePortal, directory.Origin{}); err != nil {
		t.Errorf("portal with the first password: %v", err)
	}
	var refused *directory.RefusedError
	if _, err := d.Authenticate(ctx, "jteach", first["jteach"], directory.ServiceLDAP, directory.Origin{}); err == nil || !asRefused(err, &refused) || refused.Decision.Reason != directory.ReasonMustChange {
		t.Errorf("ldap with the first password: %v", err)
	}
	s.Close()

	// A reset to standard output.
	t.Setenv("KEYSTAGE_ACTOR", "mtech")
	code, stdout, errOut = keystage(t, "", "--data", dir, "password", "reset", "jteach")
	if code != 0 || !strings.Contains(errOut, "reset 1 first password") {
		t.Fatalf("reset: %d %s", code, errOut)
	}
	pw := regexp.MustCompile(`<dd class="pw">([A-Za-z-]+-[2-9]{2})</dd>`).FindStringSubmatch(stdout)
	if pw == nil || pw[1] == first["jteach"] {
		t.Fatalf("reset slip:\n%s", stdout)
	}
	s, err = sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d = e.directory(s)
	if _, err := d.Authenticate(ctx, "jteach", first["jteach"], directory.ServicePortal, directory.Origin{}); err == nil {
		t.Error("the first password still works after the reset")
	}
	evs, _ := s.AuditEventsAbout(ctx, "account:jteach", 0, 100)
	if last := evs[len(evs)-1]; last.Action != "password.reset" || last.Actor != "cli:mtech" {
		t.Errorf("trail: %s by %s", last.Action, last.Actor)
	}
}

func asRefused(err error, r **directory.RefusedError) bool {
	x, ok := err.(*directory.RefusedError)
	*r = x
	return ok
}

func TestAccountEnableAndUnlock(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "add", "--username", "jleaver", "--role", "staff"); code != 0 {
		t.Fatalf("add: %d %s", code, errOut)
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "disable", "jleaver", "--reason", "mistake"); code != 0 {
		t.Fatal(errOut)
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"no reason", []string{"account", "enable", "jleaver"}, 2, "", "--reason is needed"},
		{"unknown", []string{"account", "enable", "nobody", "--reason", "x"}, 1, "", "keystage account list"},
		{"enables", []string{"account", "enable", "jleaver", "--reason", "disabled by mistake"}, 0, "enabled jleaver", ""},
		{"twice", []string{"account", "enable", "jleaver", "--reason", "again"}, 0, "not disabled", ""},
		{"unlock", []string{"account", "unlock", "jleaver"}, 0, "unlocked jleaver", ""},
		{"unlock unknown", []string{"account", "unlock", "nobody"}, 1, "", "keystage account list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := keystage(t, "", append([]string{"--data", dir}, c.args...)...)
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
				t.Fatalf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, c.code, out, c.out, errOut, c.err)
			}
		})
	}
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(dir, "keystage.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, _ := s.AuditEventsAbout(context.Background(), "account:jleaver", 0, 100)
	var acts []string
	for _, e := range evs {
		acts = append(acts, string(e.Action))
	}
	if got := strings.Join(acts, ","); !strings.HasSuffix(got, "account.disable,account.enable,account.unlock") {
		t.Errorf("trail: %s", got)
	}
}
