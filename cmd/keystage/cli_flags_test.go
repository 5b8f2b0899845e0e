package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGlobalFlagsAfterCommand: --data and --config work after the command
// (and after its own flags) as they do before it.
func TestGlobalFlagsAfterCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := keystage(t, "", "account", "add", "--username", "mpatel", "--role", "staff", "--given", "Meera", "--family", "Patel", "--data", dir); code != 0 {
		t.Fatalf("account add --data DIR: %d %s", code, errOut)
	}
	if code, out, errOut := keystage(t, "", "account", "list", "--data="+dir); code != 0 || !strings.Contains(out, "mpatel") {
		t.Fatalf("account list --data=DIR: %d %s %s", code, out, errOut)
	}
	cfg := filepath.Join(t.TempDir(), "k.toml")
	if err := os.WriteFile(cfg, []byte("colour = \"blue\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := keystage(t, "", "config", "check", "--config", cfg); code == 0 || !strings.Contains(errOut, "colour") {
		t.Errorf("config check --config FILE did not read FILE: %d %s", code, errOut)
	}
	if code, _, errOut := keystage(t, "", "account", "list", "--data"); code != 2 || !strings.Contains(errOut, "needs an argument") {
		t.Errorf("--data without a value: %d %s", code, errOut)
	}
	// After "--" nothing is taken as a global flag.
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "show", "--", "--data"); code == 0 || strings.Contains(errOut, "needs an argument") {
		t.Errorf("a --data after -- was taken as the global flag: %d %s", code, errOut)
	}
}

// TestConfigCheckChecksTheCSVMapping: config check refuses a [sync.csv]
// that the sync would refuse, naming every fault.
func TestConfigCheckChecksTheCSVMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.toml")
	bad := "[sync.csv]\nid = \"Adno\"\ngiven_name = \"Forename\"\nrole = \"Type\"\nstaff_values = [\"Staff\"]\npupil_values = [\"Pupil\", \"staff\"]\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := keystage(t, "", "--config", path, "config", "check")
	if code != 1 {
		t.Fatalf("config check of a broken mapping: exit %d, want 1\n%s", code, errOut)
	}
	for _, want := range []string{"sync.csv", "family_name is not set", `"staff" is in both staff_values and pupil_values`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("config check does not say %q:\n%s", want, errOut)
		}
	}
	// config check also checks what serve needs: the export and the data
	// directory are there.
	data := t.TempDir()
	export := filepath.Join(data, "report.csv")
	if err := os.WriteFile(export, []byte("Adno,Forename,Surname\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := fmt.Sprintf("data_dir = %q\n[sync]\nsource = \"csv:%s\"\n[sync.csv]\nid = \"Adno\"\ngiven_name = \"Forename\"\nfamily_name = \"Surname\"\nfixed_role = \"pupil\"\n", data, export)
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := keystage(t, "", "--config", path, "config", "check"); code != 0 {
		t.Errorf("a good mapping refused: %d %s", code, errOut)
	}
	// A csv: source with no mapping at all is refused by config check too.
	if err := os.WriteFile(path, []byte("[sync]\nsource = \"csv:/srv/mis/report.csv\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := keystage(t, "", "--config", path, "config", "check"); code != 1 || !strings.Contains(errOut, "id is not set") {
		t.Errorf("csv: source without a mapping: %d %s", code, errOut)
	}
}

// TestAccountLegalNameCommand: keystage account legal-name withholds a
// person's legal name (audited), and account show says so.
func TestAccountLegalNameCommand(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "add", "--username", "jsmith", "--role", "staff", "--given", "John", "--family", "Smith"); code != 0 {
		t.Fatalf("account add: %s", errOut)
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "legal-name", "jsmith"); code != 2 || !strings.Contains(errOut, "--withhold or --show") {
		t.Errorf("neither flag: %d %s", code, errOut)
	}
	code, out, errOut := keystage(t, "", "--data", dir, "account", "legal-name", "jsmith", "--withhold")
	if code != 0 || !strings.Contains(out, "withheld") {
		t.Fatalf("withhold: %d %s %s", code, out, errOut)
	}
	if code, out, _ := keystage(t, "", "--data", dir, "account", "show", "jsmith"); code != 0 || !strings.Contains(out, "legal name:") || !strings.Contains(out, "withheld") {
		t.Errorf("account show: %s", out)
	}
	if code, out, _ := keystage(t, "", "--data", dir, "audit", "export"); code != 0 || !strings.Contains(out, "account.legal_name") {
		t.Errorf("no account.legal_name event in the trail: %d", code)
	}
	if code, out, _ := keystage(t, "", "--data", dir, "account", "legal-name", "jsmith", "--withhold"); code != 0 || !strings.Contains(out, "already") {
		t.Errorf("withhold twice: %s", out)
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "legal-name", "nobody", "--show"); code != 1 || !strings.Contains(errOut, `no account "nobody"`) {
		t.Errorf("unknown: %d %s", code, errOut)
	}
}
