package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The device, exception and retention commands, as an operator runs them.
func TestDeviceExceptionAndRetentionCommands(t *testing.T) {
	dir := t.TempDir()
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := keystage(t, "", append([]string{"--data", dir}, args...)...)
		if code != want {
			t.Fatalf("keystage %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, tail(errOut, 5))
		}
		return out, errOut
	}
	run(0, "migrate", "up")
	run(0, "account", "add", "--username", "zpupil", "--role", "pupil", "--given", "Zed")
	run(0, "account", "add", "--username", "head", "--role", "staff", "--given", "Hana")
	run(0, "account", "add", "--username", "dsl", "--role", "staff", "--given", "Dee")
	run(0, "group", "add", "portal-senior-leaders")
	run(0, "group", "members", "add", "portal-senior-leaders", "head")
	run(0, "group", "add", "portal-safeguarding")
	run(0, "group", "members", "add", "portal-safeguarding", "dsl")

	out, _ := run(0, "device", "register", "00:11:22:33:44:55", "--label", "library laptop 12")
	if !strings.Contains(out, "00-11-22-33-44-55 registered") {
		t.Errorf("register: %s", out)
	}
	if out, _ := run(0, "device", "list"); !strings.Contains(out, "library laptop 12") {
		t.Errorf("device list: %s", out)
	}
	run(2, "device", "approve", "zpupil", "--mac", "02:00:00:00:00:07")
	_, errOut := run(1, "device", "approve", "zpupil", "--mac", "02:00:00:00:00:07", "--until", "2099-07-22", "--reason", "medical app", "--approver", "dsl")
	if !strings.Contains(errOut, "only members of portal-senior-leaders") {
		t.Errorf("approved by the DSL: %s", errOut)
	}
	out, _ = run(0, "device", "approve", "zpupil", "--mac", "02:00:00:00:00:07", "--until", "2099-07-22", "--reason", "medical app", "--approver", "head")
	m := regexp.MustCompile(`personal-device approval (\d+) for zpupil`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("device approve: %s", out)
	}
	if out, _ := run(0, "device", "list", "zpupil"); !strings.Contains(out, "device 02-00-00-00-00-07") || !strings.Contains(out, "medical app") {
		t.Errorf("device list zpupil: %s", out)
	}
	run(0, "device", "revoke", "zpupil", m[1])
	run(1, "device", "revoke", "zpupil", m[1])
	run(1, "device", "forget", "zpupil", "02:00:00:00:00:07") // never seen
	run(0, "device", "unregister", "00:11:22:33:44:55")
	list := filepath.Join(t.TempDir(), "devices.csv")
	if err := os.WriteFile(list, []byte("MAC,Name\n00:11:22:33:44:66,trolley 1\n0011.2233.4477,trolley 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _ := run(0, "device", "register", "--from", list); !strings.Contains(out, "2 school devices registered") {
		t.Errorf("register --from: %s", out)
	}
	if err := os.WriteFile(list, []byte("00:11:22:33:44:88\nphone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut := run(1, "device", "register", "--from", list); !strings.Contains(errOut, `line 2 ("phone")`) {
		t.Errorf("a bad row: %s", errOut)
	}
	if out, _ := run(0, "device", "list"); !strings.Contains(out, "trolley 2") || strings.Contains(out, "00-11-22-33-44-88") {
		t.Errorf("after the imports: %s", out)
	}

	run(2, "exception", "add", "zpupil", "--until", "2099-07-22", "--reason", "EHCP", "--approver", "dsl")
	_, errOut = run(1, "exception", "add", "zpupil", "--password-policy", "nonesuch", "--until", "2099-07-22", "--reason", "EHCP", "--approver", "dsl")
	if !strings.Contains(errOut, "not a password policy") {
		t.Errorf("an unknown policy: %s", errOut)
	}
	run(0, "exception", "add", "zpupil", "--password-policy", "pupil-ks1", "--until", "2099-07-22", "--reason", "EHCP: reading age 6", "--approver", "dsl")
	run(0, "exception", "add", "zpupil", "--vlan", "25", "--filter", "sen-supervised", "--until", "2099-07-22", "--reason", "EHCP: supervised", "--approver", "dsl")
	out, _ = run(0, "exception", "list")
	if !strings.Contains(out, "password policy pupil-ks1") || !strings.Contains(out, "vlan 25 filter sen-supervised") {
		t.Errorf("exception list: %s", out)
	}
	if out, _ := run(0, "review"); !strings.Contains(out, "exception") || !strings.Contains(out, "approved by dsl") {
		t.Errorf("the access review lacks the exceptions:\n%s", out)
	}
	out, _ = run(0, "register", "person", "zpupil", "--withhold-third-parties")
	if strings.Contains(out, `"dsl"`) || !strings.Contains(out, "EHCP") {
		t.Errorf("register person --withhold-third-parties:\n%s", out)
	}

	out, _ = run(0, "retention")
	if !strings.Contains(out, "audit events: kept whole") || !strings.Contains(out, "nothing deleted") {
		t.Errorf("retention: %s", out)
	}
	if out, _ := run(0, "retention", "--apply"); !strings.Contains(out, "devices: 0 not seen") {
		t.Errorf("retention --apply: %s", out)
	}
}
