package main

import (
	"strings"
	"testing"
)

func TestNASAndWiFiCommands(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := keystage(t, "", "--data", dir, "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	secret := "a-long-random-shared-secret-7Q"
	// The secret comes from standard input, never from argv.
	code, _, errOut := keystage(t, secret+"\n", "--data", dir, "nas", "add", "core-wlc", "--address", "10.0.0.0/24,192.0.2.7", "--vendor", "aruba", "--coa-port", "1700")
	if code != 0 {
		t.Fatalf("nas add: %d %s", code, errOut)
	}
	code, _, errOut = keystage(t, "short\n", "--data", dir, "nas", "add", "weak", "--address", "10.9.0.1")
	if code != 1 || !strings.Contains(errOut, "at least 16") {
		t.Errorf("short secret: %d %s", code, errOut)
	}
	code, _, errOut = keystage(t, secret+"\n", "--data", dir, "nas", "add", "bad", "--address", "10.0.0.300")
	if code != 2 || !strings.Contains(errOut, "IP address or CIDR") {
		t.Errorf("bad address: %d %s", code, errOut)
	}
	code, out, _ := keystage(t, "", "--data", dir, "nas", "list")
	if code != 0 || !strings.Contains(out, "core-wlc") || !strings.Contains(out, "10.0.0.0/24,192.0.2.7") || !strings.Contains(out, "1700") {
		t.Errorf("nas list: %d %s", code, out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "weak") {
		t.Errorf("nas list shows a secret or a refused NAS:\n%s", out)
	}

	if code, out, errOut := keystage(t, "", "--data", dir, "account", "add", "--username", "jteacher", "--role", "staff", "--given", "Jo"); code != 0 {
		t.Fatalf("account add: %s %s", out, errOut)
	}
	code, _, errOut = keystage(t, "", "--data", dir, "wifi", "show", "jteacher")
	if code != 1 || !strings.Contains(errOut, "wifi issue jteacher") {
		t.Errorf("show before issue: %d %s", code, errOut)
	}
	code, issued, errOut := keystage(t, "", "--data", dir, "wifi", "issue", "jteacher")
	if code != 0 || len(strings.TrimSpace(issued)) < 15 {
		t.Fatalf("issue: %d %q %s", code, issued, errOut)
	}
	code, shown, _ := keystage(t, "", "--data", dir, "wifi", "show", "jteacher")
	if code != 0 || shown != issued {
		t.Errorf("show = %q, issued %q", shown, issued)
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "wifi", "revoke", "jteacher"); code != 0 {
		t.Errorf("revoke: %s", errOut)
	}
	if code, _, _ := keystage(t, "", "--data", dir, "wifi", "show", "jteacher"); code != 1 {
		t.Error("a revoked credential is still shown")
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "wifi", "issue", "nobody"); code != 1 || !strings.Contains(errOut, "no account") {
		t.Errorf("issue for nobody: %d %s", code, errOut)
	}

	if code, _, errOut := keystage(t, "", "--data", dir, "nas", "remove", "core-wlc"); code != 0 {
		t.Errorf("remove: %s", errOut)
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "nas", "remove", "core-wlc"); code != 1 || !strings.Contains(errOut, "no NAS client") {
		t.Errorf("remove again: %d %s", code, errOut)
	}
	// account show counts the Wi-Fi credentials, in force and revoked.
	code, out, _ = keystage(t, "", "--data", dir, "account", "show", "jteacher")
	if code != 0 || !strings.Contains(out, "wifi:") {
		t.Errorf("account show after wifi: %s", out)
	}
}
