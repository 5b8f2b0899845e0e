package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"keystage.dev/keystage/directory/sqlstore"
)

// school makes a data directory with a member of staff, a Year 8 pupil
// and a Year 4 pupil, and returns a function that runs keystage on it.
func school(t *testing.T) (dir string, ks func(stdin string, args ...string) (int, string, string)) {
	t.Helper()
	dir = t.TempDir()
	ks = func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, stdin, append([]string{"--data", dir}, args...)...)
	}
	if code, out, errOut := ks("", "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	for _, a := range [][]string{
		{"--username", "jteacher", "--role", "staff", "--given", "Jo", "--family", "Teacher"},
		{"--username", "apupil", "--role", "pupil", "--year", "8", "--given", "Al", "--family", "Pupil"},
		{"--username", "bpupil", "--role", "pupil", "--year", "4", "--given", "Bea", "--family", "Pupil"},
	} {
		if code, out, errOut := ks("", append([]string{"account", "add"}, a...)...); code != 0 {
			t.Fatalf("account add: %s %s", out, errOut)
		}
	}
	return dir, ks
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAUPCommands(t *testing.T) {
	dir, ks := school(t)
	text := writeFile(t, dir, "staff.md", "# Staff AUP\nBe kind.\n")
	code, out, errOut := ks("", "aup", "publish", "--audience", "staff", "--version", "2026-09", "--file", text)
	if code != 0 || !strings.Contains(out, "published staff version 2026-09 (sha256 ") {
		t.Fatalf("publish: %d %s %s", code, out, errOut)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"again", []string{"--audience", "staff", "--version", "2026-09", "--file", text}, 1, "already exists"},
		{"unknown audience", []string{"--audience", "aliens", "--version", "1", "--file", text}, 1, "unknown AUP audience"},
		{"no file", []string{"--audience", "staff", "--version", "3", "--file", filepath.Join(dir, "absent.md")}, 1, "reading the policy"},
		{"bad resign date", []string{"--audience", "staff", "--version", "3", "--file", text, "--resign-from", "soon"}, 2, "want a date"},
		{"missing flags", []string{"--audience", "staff"}, 2, "want --audience, --version and --file"},
	} {
		if code, _, errOut := ks("", append([]string{"aup", "publish"}, tc.args...)...); code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("publish %s: %d %s", tc.name, code, errOut)
		}
	}
	ks2 := writeFile(t, dir, "ks2.md", "# KS2 AUP\n")
	if code, _, errOut := ks("", "aup", "publish", "--audience", "pupil-ks2", "--version", "1", "--file", ks2); code != 0 {
		t.Fatal(errOut)
	}
	code, out, _ = ks("", "aup", "list")
	if code != 0 || !strings.Contains(out, "pupil-ks2") || !strings.Contains(out, "2026-09") || !strings.Contains(out, "yes") {
		t.Errorf("list: %d %s", code, out)
	}

	// Status: nobody has signed; apupil (Year 8, audience pupil) has
	// nothing published, so is not listed.
	code, out, errOut = ks("", "aup", "status", "--unsigned")
	if code != 0 || !strings.Contains(out, "jteacher") || !strings.Contains(out, "bpupil") || strings.Contains(out, "apupil") ||
		!strings.Contains(errOut, "0 signed the current version, 0 an earlier one that still counts, 2 unsigned") {
		t.Errorf("status before: %d %s %s", code, out, errOut)
	}

	yesterday := time.Now().In(mustLoc(t)).AddDate(0, 0, -1).Format("2006-01-02")
	tomorrow := time.Now().In(mustLoc(t)).AddDate(0, 0, 2).Format("2006-01-02")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown name", []string{"nobody", "--form-date", yesterday, "--witness", "W"}, 1, `no account "nobody"`},
		{"no witness", []string{"jteacher", "--form-date", yesterday}, 2, "want --form-date and --witness"},
		{"future form", []string{"jteacher", "--form-date", tomorrow, "--witness", "W"}, 1, "not in the future"},
		{"bad date", []string{"jteacher", "--form-date", "1/9/26", "--witness", "W"}, 2, "want a date"},
		{"not theirs", []string{"jteacher", "--audience", "pupil-ks2", "--form-date", yesterday, "--witness", "W"}, 1, "does not sign the pupil-ks2 AUP"},
		{"nothing published", []string{"apupil", "--form-date", yesterday, "--witness", "W"}, 1, "keystage aup publish first"},
	} {
		if code, _, errOut := ks("", append([]string{"aup", "record"}, tc.args...)...); code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("record %s: %d %s", tc.name, code, errOut)
		}
	}
	code, out, errOut = ks("", "aup", "record", "jteacher", "--form-date", yesterday, "--witness", "Mrs Head")
	if code != 0 || !strings.Contains(out, "recorded jteacher's paper signature of staff version 2026-09") {
		t.Fatalf("record: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("", "aup", "record", "jteacher", "--form-date", yesterday, "--witness", "Mrs Head"); code != 1 || !strings.Contains(errOut, "already signed") {
		t.Errorf("record twice: %d %s", code, errOut)
	}
	// The date on the form, not the day it was typed in.
	code, out, errOut = ks("", "aup", "status", "jteacher")
	if code != 0 || !strings.Contains(out, yesterday+" paper (entered ") || !strings.Contains(errOut, "Wi-Fi now: You have no Wi-Fi password yet") {
		t.Errorf("status of one: %d %s %s", code, out, errOut)
	}
	code, out, errOut = ks("", "aup", "status", "--audience", "staff")
	if code != 0 || !strings.Contains(out, "jteacher") || strings.Contains(out, "bpupil") || !strings.Contains(errOut, "1 signed the current version") {
		t.Errorf("status by audience: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("", "aup", "status", "--audience", "aliens"); code != 2 || !strings.Contains(errOut, "not a known audience") {
		t.Errorf("status of an unknown audience: %d %s", code, errOut)
	}

	// A new version that needs re-signing from a past date makes the old
	// signature stop counting.
	v2 := writeFile(t, dir, "staff2.md", "# Staff AUP\nBe kinder.\n")
	if code, _, errOut := ks("", "aup", "publish", "--audience", "staff", "--version", "2027-01", "--file", v2, "--resign-from", yesterday); code != 0 || !strings.Contains(errOut, "must sign version 2027-01") {
		t.Fatalf("publish v2: %d %s", code, errOut)
	}
	code, out, _ = ks("", "aup", "status", "--unsigned", "--audience", "staff")
	if code != 0 || !strings.Contains(out, "jteacher") || !strings.Contains(out, "2027-01") {
		t.Errorf("after re-sign: %d %s", code, out)
	}
}

func mustLoc(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestAUPImport(t *testing.T) {
	dir, ks := school(t)
	if code, _, errOut := ks("", "aup", "publish", "--audience", "staff", "--version", "1", "--file", writeFile(t, dir, "s.md", "staff")); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := ks("", "aup", "publish", "--audience", "pupil-ks2", "--version", "1", "--file", writeFile(t, dir, "p.md", "ks2")); code != 0 {
		t.Fatal(errOut)
	}
	yesterday := time.Now().In(mustLoc(t)).AddDate(0, 0, -1).Format("2006-01-02")
	csvText := "\ufeffUsername,Form_Date,Witness\n" +
		"jteacher," + yesterday + ",Mrs Head\n" +
		"nobody," + yesterday + ",Mrs Head\n" +
		"bpupil,2026-13-01,Mr Class\n" +
		"bpupil," + yesterday + ",\n" +
		",,\n" +
		"bpupil," + yesterday + ",Mr Class\n" +
		"bpupil," + yesterday + ",Mr Class\n"
	file := writeFile(t, dir, "forms.csv", csvText)
	code, out, errOut := ks("", "aup", "import", file)
	if code != 1 || !strings.Contains(errOut, "Nothing recorded yet") || !strings.Contains(errOut, "4 row(s) refused") {
		t.Fatalf("plan: %d %s %s", code, out, errOut)
	}
	for _, want := range []string{
		"2      jteacher", "sign",
		`3      nobody`, `REFUSED: no account "nobody"`,
		"4      bpupil", `REFUSED: form_date "2026-13-01": want YYYY-MM-DD`,
		"5      bpupil", "REFUSED: no witness",
		"7      bpupil", "8      bpupil", "REFUSED: the same form is on line 7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := ks("", "aup", "status", "--unsigned"); code != 0 || !strings.Contains(out, "jteacher") {
		t.Errorf("the plan recorded something: %s", out)
	}
	code, _, errOut = ks("", "aup", "import", file, "--apply")
	if code != 1 || !strings.Contains(errOut, "recorded 2 signature(s) in one transaction") {
		t.Fatalf("apply: %d %s", code, errOut)
	}
	code, out, errOut = ks("", "aup", "status")
	if code != 0 || !strings.Contains(errOut, "2 signed the current version") || !strings.Contains(out, "paper") {
		t.Errorf("after apply: %s %s", out, errOut)
	}
	// Importing again skips what is recorded.
	clean := writeFile(t, dir, "again.csv", "username,witness,form_date,audience\njteacher,Mrs Head,"+yesterday+",staff\n")
	if code, out, errOut := ks("", "aup", "import", clean, "--apply"); code != 0 || !strings.Contains(out, "skip: already signed") || !strings.Contains(errOut, "nothing to record") {
		t.Errorf("again: %d %s %s", code, out, errOut)
	}
	bad := writeFile(t, dir, "bad.csv", "user,date\njteacher,2026-01-01\n")
	if code, _, errOut := ks("", "aup", "import", bad); code != 1 || !strings.Contains(errOut, `unknown column "user"`) {
		t.Errorf("bad header: %d %s", code, errOut)
	}
}

func TestConsentCommands(t *testing.T) {
	_, ks := school(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"staff", []string{"record", "jteacher", "--parent", "P", "--relationship", "mother"}, 1, "only for pupils"},
		{"no parent", []string{"record", "apupil", "--relationship", "mother"}, 2, "want --parent and --relationship"},
		{"unknown", []string{"record", "nobody", "--parent", "P", "--relationship", "mother"}, 1, `no account "nobody"`},
		{"future", []string{"record", "apupil", "--parent", "P", "--relationship", "mother", "--date", "2999-01-01"}, 1, "not in the future"},
		{"withdraw none", []string{"withdraw", "apupil"}, 1, "no parental consent in force"},
		{"bad sub", []string{"give", "apupil"}, 2, "want: consent record"},
	} {
		if code, _, errOut := ks("", append([]string{"consent"}, tc.args...)...); code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: %d %s", tc.name, code, errOut)
		}
	}
	code, out, errOut := ks("", "consent", "record", "apupil", "--parent", "Sam Pupil", "--relationship", "mother", "--date", "2026-09-01")
	if code != 0 || !strings.Contains(out, "recorded consent for apupil from Sam Pupil (mother), dated 2026-09-01") {
		t.Fatalf("record: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("", "aup", "status", "apupil"); code != 0 || strings.Contains(errOut, "permission from your parent") {
		t.Errorf("consent not seen by the gate: %s", errOut)
	}
	if code, out, _ := ks("", "consent", "withdraw", "apupil"); code != 0 || !strings.Contains(out, "withdrew 1 consent") {
		t.Errorf("withdraw: %d %s", code, out)
	}
	if code, _, errOut := ks("", "aup", "status", "apupil"); code != 0 || !strings.Contains(errOut, "permission from your parent or carer") {
		t.Errorf("after withdrawal: %s", errOut)
	}
}

func TestSuspendCommands(t *testing.T) {
	_, ks := school(t)
	loc := mustLoc(t)
	yesterday := time.Now().In(loc).AddDate(0, 0, -1)
	past := yesterday.Format("2006-01-02")
	// The refusal shows the end asked for and the time now, as docs/aup.md says.
	pastEnd := time.Date(yesterday.Year(), yesterday.Month(), yesterday.Day(), 0, 0, 0, 0, loc).Format("2 Jan 2006 15:04")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no reason", []string{"jteacher", "--for", "3d"}, 2, "give --reason"},
		{"no end", []string{"jteacher", "--reason", "r"}, 2, "say when it ends"},
		{"two ends", []string{"jteacher", "--reason", "r", "--for", "3d", "--until-lifted"}, 2, "say when it ends"},
		{"unknown", []string{"nobody", "--reason", "r", "--for", "3d"}, 1, `no account "nobody"`},
		{"until before from", []string{"jteacher", "--reason", "r", "--from", "2999-01-02", "--until", "2999-01-01"}, 1, "must be after its start"},
		{"until past", []string{"jteacher", "--reason", "r", "--until", past}, 1, "(" + pastEnd + ") must be in the future (it is now "},
		{"bad span", []string{"jteacher", "--reason", "r", "--for", "three days"}, 2, "want a length such as 3d"},
		{"bad until", []string{"jteacher", "--reason", "r", "--until", "Friday"}, 2, "want a date"},
	} {
		if code, _, errOut := ks("", append([]string{"suspend"}, tc.args...)...); code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: %d %s", tc.name, code, errOut)
		}
	}
	if code, _, errOut := ks("", "unsuspend", "jteacher"); code != 1 || !strings.Contains(errOut, "no suspension in force or to come") {
		t.Errorf("unsuspend with none: %d %s", code, errOut)
	}
	code, out, errOut := ks("", "suspend", "jteacher", "--for", "3d", "--reason", "Misuse of chat", "--incident", "INC-7")
	end := time.Now().In(loc).AddDate(0, 0, 3).Format("Mon 2 Jan 2006")
	if code != 0 || !strings.Contains(out, "suspended jteacher from") || !strings.Contains(out, "until "+end) || !strings.Contains(errOut, "refuse jteacher now") {
		t.Fatalf("suspend: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("", "aup", "status", "jteacher"); code != 0 || !strings.Contains(errOut, "network access is suspended until "+end) {
		t.Errorf("gate after suspend: %s", errOut)
	}
	future := time.Now().In(loc).AddDate(0, 0, 10).Format("2006-01-02")
	code, out, errOut = ks("", "suspend", "apupil", "--from", future, "--until-lifted", "--reason", "Exclusion")
	if code != 0 || !strings.Contains(out, "until lifted") || !strings.Contains(errOut, "still lets apupil in until the start") {
		t.Errorf("future open-ended: %d %s %s", code, out, errOut)
	}
	if code, out, _ := ks("", "unsuspend", "jteacher"); code != 0 || !strings.Contains(out, "lifted 1 suspension(s) of jteacher") {
		t.Errorf("unsuspend: %d %s", code, out)
	}
	if code, _, errOut := ks("", "aup", "status", "jteacher"); code != 0 || strings.Contains(errOut, "suspended") {
		t.Errorf("gate after unsuspend: %s", errOut)
	}
	if code, out, _ := ks("", "unsuspend", "apupil"); code != 0 || !strings.Contains(out, "lifted 1") {
		t.Errorf("unsuspend a suspension still to come: %d %s", code, out)
	}
}

func TestAUPAudiencesFromConfig(t *testing.T) {
	dir, _ := school(t)
	cfgPath := writeFile(t, dir, "keystage.toml", fmt.Sprintf("data_dir = %q\n[aup]\n[[aup.audience]]\nname = \"ks2-tablets\"\nroles = [\"pupil\"]\nyears = [\"4\"]\n", dir))
	ks := func(stdin string, args ...string) (int, string, string) {
		return keystage(t, stdin, append([]string{"--config", cfgPath}, args...)...)
	}
	if code, _, errOut := ks("", "aup", "publish", "--audience", "ks2-tablets", "--version", "1", "--file", writeFile(t, dir, "t.md", "tablets")); code != 0 {
		t.Fatal(errOut)
	}
	code, out, _ := ks("", "aup", "status", "--unsigned")
	if code != 0 || !strings.Contains(out, "bpupil") || !strings.Contains(out, "ks2-tablets") || strings.Contains(out, "apupil") {
		t.Errorf("configured audience: %s", out)
	}
	bad := writeFile(t, dir, "bad.toml", "[aup]\nconsent_audience = \"\"\n[[aup.audience]]\nname = \"Sixth Form\"\nroles = [\"teacher\"]\n")
	if code, _, errOut := keystage(t, "", "--config", bad, "config", "check"); code == 0 || !strings.Contains(errOut, "aup.consent_audience") ||
		!strings.Contains(errOut, `aup.audience "Sixth Form"`) || !strings.Contains(errOut, "unknown role") {
		t.Errorf("bad [aup]: %d %s", code, errOut)
	}
}

// On SQLite a command writes beside a running server, whose store hears
// the change; while a migration or a restore holds the file to itself,
// the command says so and what to do.
func TestSuspendBesideSQLiteServer(t *testing.T) {
	dir, ks := school(t)
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, dataDir: dir}
	s, err := e.openStoreWith(sqlstore.Config{Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	heard := make(chan []string, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Watch(ctx, func(targets []string) { heard <- targets }); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := ks("", "suspend", "jteacher", "--for", "1d", "--reason", "r"); code != 0 {
		t.Fatalf("suspend beside a server: %d %s", code, errOut)
	}
	deadline := time.After(30 * time.Second)
	for told := false; !told; {
		select {
		case targets := <-heard:
			told = slices.Contains(targets, "account:jteacher")
		case <-deadline:
			t.Fatal("the server's store never heard of the suspension")
		}
	}

	// A restore (or a migration) takes the file to itself.
	lock, err := os.OpenFile(filepath.Join(dir, "keystage.db.lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	s.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := ks("", "unsuspend", "jteacher")
	if code != 1 || !strings.Contains(errOut, "cannot lift the suspension now") || !strings.Contains(errOut, "wait for it to finish") {
		t.Errorf("beside a restore: %d %s", code, errOut)
	}
}
