package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory/sqlstore/pgtest"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/pki"
)

// writePair writes a self-signed certificate and its key, made as of now.
func writePair(t *testing.T, dir, name string, now time.Time) (cert, key string) {
	t.Helper()
	c, k, err := pki.SelfSignedPEM("Keystage LDAP (self-signed)", "", []string{"localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(cert, c, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// config check finds what serve would fail on, every problem in one run:
// a missing LDAP certificate, a certificate whose key is another's, an
// expired certificate, an export that is not there, a key file that does
// not parse, and an unreachable database.
func TestConfigCheckFindsWhatServeNeeds(t *testing.T) {
	dir := t.TempDir()
	_, eapKey := writePair(t, dir, "other", time.Now())
	eapCert, _ := writePair(t, dir, "eap", time.Now())
	oldCert, oldKey := writePair(t, dir, "portal", time.Now().AddDate(-2, 0, 0))
	if err := os.WriteFile(filepath.Join(dir, "keystage.keys"), []byte("not a key file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`data_dir = %q
[database]
url = "postgres://keystage@127.0.0.1:1/keystage?sslmode=disable&connect_timeout=2"
[ldap]
enabled = true
cert_file = %q
key_file = %q
[radius]
enabled = true
[radius.eap]
cert_file = %q
key_file = %q
[portal]
enabled = true
public_url = "https://portal.school.example"
wifi_ssid = "School"
wifi_server_domain = "radius.school.example"
tls_cert = %q
tls_key = %q
[sync]
source = %q
`, dir, filepath.Join(dir, "absent.crt"), filepath.Join(dir, "absent.key"), eapCert, eapKey, oldCert, oldKey, "oneroster:"+filepath.Join(dir, "mis"))
	path := filepath.Join(dir, "keystage.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KEYSTAGE_DATABASE_URL", "")
	code, out, errOut := keystage(t, "", "--config", path, "config", "check")
	if code != 1 || strings.Contains(out, "configuration is valid") {
		t.Fatalf("config check passed what serve would fail on: %d %s %s", code, out, errOut)
	}
	for _, want := range []string{
		"6 problem(s)",
		"ldap.cert_file and ldap.key_file", "no such file",
		"radius.eap.cert_file and radius.eap.key_file", "private key does not match public key",
		"portal.tls_cert and portal.tls_key", "expired on",
		"sync.source oneroster:",
		"key file " + filepath.Join(dir, "keystage.keys"),
		"cannot be reached",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("config check does not say %q:\n%s", want, errOut)
		}
	}
}

// config check opens the database and tries the key file on its secrets:
// another node's key file is named for the key ids it lacks.
func TestConfigCheckTriesTheKeyFileOnTheDatabase(t *testing.T) {
	dir := t.TempDir()
	ks := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, stdin, append([]string{"--data", dir}, args...)...)
	}
	if code, out, errOut := ks("", "config", "check"); code != 0 || !strings.Contains(out, "does not exist yet") {
		t.Errorf("new installation: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := ks("", "init"); code != 0 {
		t.Fatalf("init: %s %s", out, errOut)
	}
	if code, _, errOut := ks("a-long-random-shared-secret-7Q\n", "nas", "add", "hall-ap", "--address", "127.0.0.1"); code != 0 {
		t.Fatalf("nas add: %s", errOut)
	}
	if code, out, errOut := ks("", "config", "check"); code != 0 || !strings.Contains(out, "reachable, schema version") {
		t.Errorf("after init: %d %s %s", code, out, errOut)
	}
	id := keyIDOf(t, filepath.Join(dir, "keystage.keys"))
	other, err := passwords.GenerateKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keystage.keys"), other, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "audit-signing.key")); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := ks("", "audit", "checkpoint"); code != 1 {
		t.Fatalf("checkpoint made a signing key: %s", errOut)
	}
	code, _, errOut := ks("", "config", "check")
	if code != 1 || !strings.Contains(errOut, "2 problem(s)") || !strings.Contains(errOut, "lacks key id(s) "+id) || !strings.Contains(errOut, "audit signing key") {
		t.Errorf("another key file: %d %s", code, errOut)
	}
}

// On PostgreSQL too: an empty database is no problem (init makes the
// schema), and after init the key file is tried on the database.
func TestConfigCheckOnPostgres(t *testing.T) {
	t.Setenv("KEYSTAGE_DATABASE_URL", pgtest.URL(t))
	dir := t.TempDir()
	ks := func(args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, "", append([]string{"--data", dir}, args...)...)
	}
	if code, out, errOut := ks("config", "check"); code != 0 || !strings.Contains(out, "is empty") {
		t.Errorf("empty database: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := ks("init"); code != 0 {
		t.Fatalf("init: %s %s", out, errOut)
	}
	if code, out, errOut := ks("config", "check"); code != 0 || !strings.Contains(out, "reachable, schema version") {
		t.Errorf("after init: %d %s %s", code, out, errOut)
	}
}
