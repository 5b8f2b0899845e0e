package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
)

// keystage passkey enrol prints a one-time code for a member of staff,
// which the directory then holds (hashed), and records who issued it.
func TestPasskeyEnrolCommand(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := keystage(t, "", "--data", dir, "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	if code, out, errOut := keystage(t, "", "--data", dir, "account", "add", "--username", "techadmin", "--role", "staff", "--given", "Tess"); code != 0 {
		t.Fatalf("account add: %s %s", out, errOut)
	}
	code, out, errOut := keystage(t, "", "--data", dir, "passkey", "enrol", "techadmin")
	if code != 0 || !regexp.MustCompile(`^[a-z0-9]{5}-[a-z0-9]{5}-[a-z0-9]{5}\n$`).MatchString(out) || !strings.Contains(errOut, "in person") {
		t.Fatalf("passkey enrol: %d %q %s", code, out, errOut)
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "passkey", "enrol", "nobody"); code != 1 || !strings.Contains(errOut, "no account") {
		t.Errorf("unknown person: %d %s", code, errOut)
	}
	if code, _, _ := keystage(t, "", "--data", dir, "passkey", "enrol"); code != 2 {
		t.Errorf("no name: exit %d, want 2", code)
	}
	e := &env{ctx: context.Background(), dataDir: dir}
	s, err := e.openStore(true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := e.directory(s)
	a, _ := s.AccountByUsername(e.ctx, "techadmin")
	if ok, err := d.HasPasskeyEnrolment(e.ctx, a, directory.EnrolmentCodeHash(strings.TrimSpace(out))); !ok || err != nil {
		t.Fatalf("the printed code is not held: %v %v", ok, err)
	}
}
