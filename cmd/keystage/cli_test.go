package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// keystage runs the command in-process and returns its exit code and output.
func keystage(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := keystage(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "keystage ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, errOut := keystage(t, "", "frobnicate")
	if code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errOut)
	}
}

func TestConfigExampleIsValid(t *testing.T) {
	code, out, _ := keystage(t, "", "config", "example")
	if code != 0 {
		t.Fatal(code)
	}
	path := filepath.Join(t.TempDir(), "keystage.toml")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	var c Config
	if _, err := toml.Decode(out, &c); err != nil {
		t.Fatalf("example does not parse: %v", err)
	}
	// Checked with a data directory that exists: config check looks at it.
	code, out, errOut := keystage(t, "", "--config", path, "--data", t.TempDir(), "config", "check")
	if code != 0 {
		t.Fatalf("example does not check: %d %s %s", code, out, errOut)
	}
}

func TestConfigReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	bad := "timezone = \"Mars/Olympus\"\n[log]\nlevel = \"loud\"\n[lockout]\nthreshold = 0\n"
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := keystage(t, "", "--config", path, "config", "check")
	if code == 0 {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{"3 problem(s)", "Mars/Olympus", "log.level", "lockout.threshold"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error lacks %q:\n%s", want, errOut)
		}
	}
	// The lockout's and the portal proxy's settings.
	lock := "[lockout]\nunfamiliar_threshold = 0\nsource_threshold = -1\nbase = \"10m\"\nmax = \"5m\"\nfamiliar_for = \"1h\"\n" +
		"[portal]\nenabled = true\npublic_url = \"https://portal.school.example\"\ntls_cert = \"c\"\ntls_key = \"k\"\n" +
		"wifi_ssid = \"S\"\nwifi_server_domain = \"r\"\ntrusted_proxies = [\"10.0.0.0/33\"]\n"
	if err := os.WriteFile(path, []byte(lock), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = keystage(t, "", "--config", path, "config", "check")
	for _, want := range []string{"lockout.unfamiliar_threshold", "lockout.source_threshold", "lockout.max", "lockout.familiar_for",
		"portal.trusted_proxies", "client_address_header"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("lockout and proxy settings: %d, error lacks %q:\n%s", code, want, errOut)
		}
	}
	if err := os.WriteFile(path, []byte("colour = \"blue\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := keystage(t, "", "--config", path, "config", "check"); code == 0 || !strings.Contains(errOut, "unknown setting(s): colour") {
		t.Errorf("unknown key: %d %s", code, errOut)
	}
}

func TestAccountCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := keystage(t, "", "--data", dir, "migrate", "up")
	if code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("migrate up: %d %s %s", code, out, errOut)
	}
	code, out, errOut = keystage(t, "", "--data", dir, "account", "add", "--username", "svc-moodle", "--role", "service", "--given", "Moodle")
	if code != 0 || !strings.Contains(out, "created svc-moodle") {
		t.Fatalf("add: %d %s %s", code, out, errOut)
	}
	code, _, errOut = keystage(t, "", "--data", dir, "account", "add", "--username", "svc-moodle", "--role", "service")
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("duplicate add: %d %s", code, errOut)
	}
	code, _, errOut = keystage(t, "", "--data", dir, "account", "add", "--username", "Bad Name", "--role", "staff")
	if code != 2 || !strings.Contains(errOut, "lower-case") {
		t.Errorf("bad username: %d %s", code, errOut)
	}
	code, _, errOut = keystage(t, "password\n", "--data", dir, "account", "add", "--username", "svc-print", "--role", "service", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "nothing was created") {
		t.Errorf("weak password: %d %s", code, errOut)
	}
	code, out, errOut = keystage(t, "Kestrel-Harbour-47\n", "--data", dir, "account", "add", "--username", "svc-print", "--role", "service", "--password-stdin")
	if code != 0 {
		t.Errorf("add with password: %d %s %s", code, out, errOut)
	}
	code, out, _ = keystage(t, "", "--data", dir, "account", "show", "svc-print")
	if code != 0 || !strings.Contains(out, "password:") {
		t.Errorf("password not stored: %s", out)
	}
	code, out, _ = keystage(t, "", "--data", dir, "account", "list")
	if code != 0 || !strings.Contains(out, "svc-moodle") || !strings.Contains(out, "service") {
		t.Errorf("list: %d %s", code, out)
	}
	code, out, _ = keystage(t, "", "--data", dir, "account", "show", "svc-moodle")
	if code != 0 || !strings.Contains(out, "uidNumber:") {
		t.Errorf("show: %d %s", code, out)
	}
	code, _, errOut = keystage(t, "", "--data", dir, "account", "show", "nobody")
	if code != 1 || !strings.Contains(errOut, "no account") {
		t.Errorf("show unknown: %d %s", code, errOut)
	}
}

func TestMissingDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	code, _, errOut := keystage(t, "", "--data", dir, "account", "list")
	if code != 1 || !strings.Contains(errOut, "does not exist") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Fatalf("missing data dir: %d %q", code, errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Error("the missing data directory was created")
	}
}

func TestDemoSeedsAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve")
	if code != 0 || !strings.Contains(out, "Seeding the demo school") {
		t.Fatalf("demo: %d %s %s", code, out, errOut)
	}
	code, out, _ = keystage(t, "", "--data", dir, "account", "list", "--role", "staff")
	if code != 0 || strings.Count(out, "\n") != 31 { // header and 30 staff
		t.Errorf("demo staff: %d lines\n%s", strings.Count(out, "\n"), out)
	}
	code, out, _ = keystage(t, "", "--data", dir, "account", "list", "--role", "pupil", "--json")
	if code != 0 || strings.Count(out, "\n") != 300 {
		t.Errorf("demo pupils: %d", strings.Count(out, "\n"))
	}
	// 330 people and the demo's LDAP service account.
	code, out, _ = keystage(t, "", "--data", dir, "demo", "--no-serve")
	if code != 0 || !strings.Contains(out, "Reusing the demo school") || !strings.Contains(out, "(331 accounts)") {
		t.Errorf("second demo run: %d %s", code, out)
	}
}
