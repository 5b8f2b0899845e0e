package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/passwords"
)

// keyIDOf reads the current key id of a key file.
func keyIDOf(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := passwords.ParseKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	return k.CurrentID()
}

// A node whose key file cannot open the secrets in the store refuses to
// start and names the key ids it lacks; one without a key file does not
// make a new one; a command that seals refuses the wrong key file too.
func TestNodeWithAnotherKeyFileRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	ks := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, stdin, append([]string{"--data", dir}, args...)...)
	}
	if code, out, errOut := ks("", "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	// The first secret sealed on an empty store makes the key file.
	if code, _, errOut := ks("a-long-random-shared-secret-7Q\n", "nas", "add", "hall-ap", "--address", "127.0.0.1"); code != 0 {
		t.Fatalf("nas add: %s", errOut)
	}
	keyFile := filepath.Join(dir, "keystage.keys")
	good, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatalf("no key file made: %v", err)
	}
	id := keyIDOf(t, keyFile)
	if code, _, errOut := ks("", "account", "add", "--username", "jteacher", "--role", "staff", "--given", "Jo"); code != 0 {
		t.Fatalf("account add: %s", errOut)
	}

	// Missing: refused, and no new key file appears.
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := ks("", "serve")
	if code != 1 || !strings.Contains(errOut, id) || !strings.Contains(errOut, "copy the key file") {
		t.Errorf("serve without its key file: %d %s", code, errOut)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Errorf("serve made a new key file over a store with sealed secrets: %v", err)
	}

	// Another key file: refused, naming the key id it lacks.
	other, err := passwords.GenerateKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, other, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = ks("", "serve")
	if code != 1 || !strings.Contains(errOut, "lacks key id(s) "+id) {
		t.Errorf("serve with another key file: %d %s", code, errOut)
	}
	// Sealing under it is refused, and nothing is stored.
	code, _, errOut = ks("", "wifi", "issue", "jteacher")
	if code != 1 || !strings.Contains(errOut, id) {
		t.Errorf("wifi issue with another key file: %d %s", code, errOut)
	}
	code, _, errOut = ks("another-long-random-secret-8Z\n", "nas", "add", "gym-ap", "--address", "127.0.0.2")
	if code != 1 || !strings.Contains(errOut, id) {
		t.Errorf("nas add with another key file: %d %s", code, errOut)
	}
	if code, out, _ := ks("", "nas", "list"); code != 0 || strings.Contains(out, "gym-ap") {
		t.Errorf("a NAS sealed under another key file was stored: %s", out)
	}

	// The right key file back: the node gets past the keys (and stops
	// only because no frontend is configured here).
	if err := os.WriteFile(keyFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = ks("", "serve")
	if code != 1 || !strings.Contains(errOut, "no frontend is enabled") {
		t.Errorf("serve with its key file: %d %s", code, errOut)
	}
	if code, _, errOut := ks("", "wifi", "issue", "jteacher"); code != 0 {
		t.Errorf("wifi issue with the right key file: %s", errOut)
	}
}

// The audit signing key is one per trust: a node without it, once the
// trail is signed, does not make another, and one with another key
// refuses to sign.
func TestNodeWithAnotherSigningKeyRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	ks := func(args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, "", append([]string{"--data", dir}, args...)...)
	}
	if code, out, errOut := ks("migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	if code, _, errOut := ks("account", "add", "--username", "jteacher", "--role", "staff"); code != 0 {
		t.Fatalf("account add: %s", errOut)
	}
	if code, _, errOut := ks("audit", "checkpoint", "--create-key"); code != 0 {
		t.Fatalf("first checkpoint: %s", errOut)
	}
	keyPath := filepath.Join(dir, "audit-signing.key")
	good, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := audit.ParseSigningKey(good)
	if err != nil {
		t.Fatal(err)
	}
	id := audit.KeyID(audit.NewSigner(sk).Public())
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := ks("serve"); code != 1 || !strings.Contains(errOut, id) || !strings.Contains(errOut, "copy audit-signing.key") {
		t.Errorf("serve without the signing key: %d %s", code, errOut)
	}
	if _, err := os.Stat(keyPath); !os.IsNotExist(err) {
		t.Errorf("a new signing key was made over a signed trail: %v", err)
	}
	other, err := audit.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, other, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := ks("account", "add", "--username", "jother", "--role", "staff"); code != 0 {
		t.Fatalf("account add: %s", errOut)
	}
	for _, cmd := range [][]string{{"serve"}, {"audit", "checkpoint"}} {
		if code, _, errOut := ks(cmd...); code != 1 || !strings.Contains(errOut, "signed by key "+id) {
			t.Errorf("%s with another signing key: %d %s", cmd[0], code, errOut)
		}
	}
	// Verify on a machine that holds only the public key, through
	// audit.public_keys: the configured set is what it trusts.
	if err := os.WriteFile(keyPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := ks("audit", "checkpoint"); code != 0 {
		t.Fatalf("checkpoint with the right key: %s", errOut)
	}
	_, pub, _ := ks("audit", "key")
	pubPath := filepath.Join(t.TempDir(), "audit.pub")
	if err := os.WriteFile(pubPath, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "keystage.toml")
	if err := os.WriteFile(cfgPath, []byte("[audit]\npublic_keys = ["+quoteTOML(pubPath)+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := keystage(t, "", "--config", cfgPath, "--data", dir, "audit", "verify")
	if code != 0 || !strings.Contains(out, "audit trail intact") {
		t.Errorf("verify with audit.public_keys only: %d %s %s", code, out, errOut)
	}
}

func quoteTOML(s string) string { return "'" + s + "'" }
