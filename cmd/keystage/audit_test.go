package main

import (
	"archive/zip"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

func TestAuditAndRegisterCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := keystage(t, "", append([]string{"--data", dir}, args...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	if out := run(3, "audit", "verify"); !strings.Contains(out, "audit chain intact") || !strings.Contains(out, "NO CHECKPOINT CHECKED: no checkpoint has been signed yet") {
		t.Errorf("verify before a checkpoint: %s", out)
	}
	if out := run(0, "audit", "checkpoint"); !strings.Contains(out, "checkpoint signed at event") {
		t.Errorf("checkpoint: %s", out)
	}
	if out := run(0, "audit", "checkpoint"); !strings.Contains(out, "checkpointed already") {
		t.Errorf("second checkpoint: %s", out)
	}
	if out := run(0, "audit", "verify"); !strings.Contains(out, "1 signed checkpoints") || strings.Contains(out, "not yet") {
		t.Errorf("verify after a checkpoint: %s", out)
	}
	pub := filepath.Join(t.TempDir(), "audit.pub")
	if err := os.WriteFile(pub, []byte(run(0, "audit", "key")), 0o600); err != nil {
		t.Fatal(err)
	}
	run(0, "audit", "verify", "--public-key", pub)

	london, err := time.LoadLocation("Europe/London") // the default timezone
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(london).Format(directory.DateLayout)
	events := filepath.Join(t.TempDir(), "events.jsonl")
	run(0, "audit", "export", "--since", "2000-01-01", "--until", "2999-12-31", "-o", events)
	b, _ := os.ReadFile(events)
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: filepath.Join(dir, "keystage.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := s.AuditHead(t.Context())
	accounts, _ := s.CountAccounts(t.Context(), directory.AccountQuery{})
	services, _ := s.CountAccounts(t.Context(), directory.AccountQuery{Role: directory.RoleService})
	accounts -= services // applications are not in the register
	s.Close()
	if n := strings.Count(string(b), "\n"); int64(n) != head {
		t.Errorf("export wrote %d events of %d", n, head)
	}
	// The trail as CSV for a spreadsheet: a byte order mark for Excel, the
	// JSON Lines keys as the header, one row an event.
	eventsCSV := filepath.Join(t.TempDir(), "events.csv")
	run(0, "audit", "export", "-o", eventsCSV)
	b, _ = os.ReadFile(eventsCSV)
	if !strings.HasPrefix(string(b), "\ufeffseq,time,actor,action,target,before,after,prev_hash,hash\n") {
		t.Errorf("trail CSV starts %q", b[:min(len(b), 80)])
	}
	if trail, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "\ufeff"))).ReadAll(); err != nil || int64(len(trail)) != head+1 {
		t.Errorf("trail CSV: %d rows for %d events: %v", len(trail), head, err)
	} else if trail[1][0] != "1" || len(trail[1][8]) != 64 {
		t.Errorf("trail CSV first event: %q", trail[1])
	}
	if out := run(0, "audit", "export", "--format", "csv", "--until", "2000-01-02"); out != "\ufeffseq,time,actor,action,target,before,after,prev_hash,hash\n" {
		t.Errorf("trail CSV of no events: %q", out)
	}
	run(2, "audit", "export", "--format", "xml")
	if out := run(0, "audit", "export", "--since", "2000-01-01", "--until", "2000-01-02"); out != "" {
		t.Errorf("export of a day without events: %q", out)
	}

	out := run(0, "register", "export")
	if !strings.HasPrefix(out, "\ufeffName,") {
		t.Errorf("register CSV has no UTF-8 byte order mark for Excel: %q", out[:min(len(out), 20)])
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != accounts+1 {
		t.Fatalf("register: %d rows for %d accounts: %v", len(rows), accounts, err)
	}
	var jsonRows []map[string]any
	if err := json.Unmarshal([]byte(run(0, "register", "export", "--format", "json", "--as-of", today)), &jsonRows); err != nil || len(jsonRows) != accounts {
		t.Errorf("register as of today: %d rows for %d accounts: %v", len(jsonRows), accounts, err)
	}
	if out := run(0, "register", "export", "--as-of", "2020-01-01"); strings.Count(out, "\n") != 1 {
		t.Errorf("register before the school was seeded: %s", out)
	}
	xlsx := filepath.Join(t.TempDir(), "register.xlsx")
	run(0, "register", "export", "-o", xlsx)
	if z, err := zip.OpenReader(xlsx); err != nil {
		t.Errorf("xlsx: %v", err)
	} else {
		z.Close()
	}
	teacher, _ := demoNamesFrom(t, dir)
	var person map[string]any
	if err := json.Unmarshal([]byte(run(0, "register", "person", teacher)), &person); err != nil || person["account"] == nil {
		t.Errorf("register person: %v %v", err, person)
	}
	run(1, "register", "person", "nobody-at-all")
	run(2, "register", "export", "--format", "pdf")
	run(2, "register", "export", "--format", "xlsx")
	run(2, "register", "export", "--as-of", "2999-01-01")
	run(2, "audit", "export", "--since", "last week")
	run(2, "audit", "frobnicate")

	// Someone with the database changes an event: verify names it.
	db, err := sqlstore.OpenRaw(t.Context(), filepath.Join(dir, "keystage.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE audit_events SET actor = 'mallory' WHERE seq = 5"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out := run(1, "audit", "verify"); !strings.Contains(out, "TAMPERED: audit chain broken at event 5: event altered") {
		t.Errorf("verify after tampering: %s", out)
	}
}

// A store that keystage serve never ran on has no signing key. verify
// still walks the chain and says that no checkpoint could be checked, with
// an exit status of its own; checkpoint does not make a key unasked.
func TestAuditVerifyWithoutSigningKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := keystage(t, "", append([]string{"--data", dir}, args...)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, out, errOut)
		}
		return out + errOut
	}
	key := filepath.Join(dir, "audit-signing.key")
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	out := run(3, "audit", "verify")
	if !strings.Contains(out, "audit chain intact: ") || !strings.Contains(out, "NO CHECKPOINT CHECKED: there is no signing key at "+key) ||
		!strings.Contains(out, "keystage audit checkpoint --create-key") || strings.Contains(out, "TAMPERED") {
		t.Errorf("verify without a key: %s", out)
	}
	if out := run(1, "audit", "checkpoint"); !strings.Contains(out, "no audit signing key at "+key) || !strings.Contains(out, "--create-key") {
		t.Errorf("checkpoint without a key: %s", out)
	}
	if _, err := os.Stat(key); !os.IsNotExist(err) {
		t.Fatalf("checkpoint made a signing key unasked: %v", err)
	}
	if out := run(0, "audit", "checkpoint", "--create-key"); !strings.Contains(out, "created the audit signing key "+key) || !strings.Contains(out, "checkpoint signed at event") {
		t.Errorf("checkpoint --create-key: %s", out)
	}
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("signing key: %v %v", st, err)
	}
	if out := run(0, "audit", "verify"); !strings.Contains(out, "audit trail intact") {
		t.Errorf("verify with the new key: %s", out)
	}
	// The key lost again: the checkpoint in the database cannot be checked.
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	if out := run(3, "audit", "verify"); !strings.Contains(out, "the 1 signed checkpoints in the database could not be checked") {
		t.Errorf("verify with a checkpoint and no key: %s", out)
	}
	// Without a key, tampering is still found in the chain.
	db, err := sqlstore.OpenRaw(t.Context(), filepath.Join(dir, "keystage.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE audit_events SET actor = 'mallory' WHERE seq = 7"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if out := run(1, "audit", "verify"); !strings.Contains(out, "TAMPERED: audit chain broken at event 7: event altered") {
		t.Errorf("verify after tampering, without a key: %s", out)
	}
}

func demoNamesFrom(t *testing.T, dir string) (string, string) {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: filepath.Join(dir, "keystage.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return demoNames(t.Context(), s)
}
