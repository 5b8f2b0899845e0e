package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

// The filtering's approval, proved as a school runs it: keystage serve's
// RADIUS frontend (with the configuration's [[radius.policy]] taken into
// the directory at start), the keystage filter commands run beside it, and
// Debian's radclient as the access point.
func TestFilterCommandsThroughRADIUS(t *testing.T) {
	radclient, err := exec.LookPath("radclient")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("radclient is not installed: CI must install freeradius-utils")
		}
		t.Skip("radclient is not installed (apt-get install freeradius-utils)")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, dataDir: dir, demoDir: dir}
	cfg, err := e.config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.LDAP.demo(dir)
	cfg.RADIUS.demo(dir) // pupils on VLAN 20, staff on 10
	cfg.RADIUS.AuthAddress, cfg.RADIUS.AcctAddress = freeUDPPort(t), freeUDPPort(t)
	s, err := e.openStore(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := e.directoryWithKeys(s, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildNetworkPolicies(e, d, cfg); err != nil {
		t.Fatal(err)
	}
	f, err := buildRADIUS(e, d, cfg)
	if err != nil || f == nil {
		t.Fatalf("build: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	// The demo pupil and their Wi-Fi credential, from the demo's hints.
	var user, cred string
	for _, h := range f.Hints {
		if w := strings.Fields(h); len(w) > 4 && w[0] == "radtest" && w[2] == "pap" && w[4] != "wrong-password" {
			user, cred = w[3], w[4]
		}
	}
	if user == "" {
		t.Fatalf("no radtest hint: %q", f.Hints)
	}
	accept := func() string {
		t.Helper()
		cmd := exec.Command(radclient, "-x", "-r", "1", "-t", "2", cfg.RADIUS.AuthAddress, "auth", demoNASSecret)
		cmd.Stdin = strings.NewReader(fmt.Sprintf("User-Name = %q\nUser-Password = %q\nMessage-Authenticator = 0x00\n", user, cred))
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "Received Access-Accept") {
			t.Fatalf("radclient: not accepted:\n%s", out)
		}
		return string(out)
	}
	until := func(what string, ok func(string) bool) string {
		t.Helper()
		var out string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if out = accept(); ok(out) {
				return out
			}
		}
		t.Fatalf("%s: never seen; last answer:\n%s", what, out)
		return ""
	}
	vlan := func(v string) string { return fmt.Sprintf("Tunnel-Private-Group-Id:0 = %q", v) }
	if out := accept(); !strings.Contains(out, vlan("20")) {
		t.Fatalf("before any change:\n%s", out)
	}

	cli := func(args ...string) string {
		t.Helper()
		code, out, errOut := keystage(t, "", append([]string{"--data", dir}, args...)...)
		if code != 0 {
			t.Fatalf("keystage %s: %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	staff, err := s.ListAccounts(context.Background(), directory.AccountQuery{Role: directory.RoleStaff, Status: directory.StatusActive, Limit: 2})
	if err != nil || len(staff) < 2 {
		t.Fatalf("demo staff: %v %v", staff, err)
	}
	head, other := staff[0].Username, staff[1].Username
	cli("group", "add", "portal-senior-leaders")
	cli("group", "members", "add", "portal-senior-leaders", head)
	if out := cli("filter", "list"); !strings.Contains(out, "approved") || !strings.Contains(out, "pupils-filtered") {
		t.Fatalf("filter list after the first start:\n%s", out)
	}
	id := regexp.MustCompile(`proposal (\d+) for pupils recorded`)
	m := id.FindStringSubmatch(cli("filter", "propose", "--group", "pupils", "--vlan", "30", "--filter", "pupils-open", "--risk", "social media open for a project"))
	if m == nil {
		t.Fatal("no proposal id")
	}
	open := m[1]
	m = id.FindStringSubmatch(cli("filter", "propose", "--group", "pupils", "--vlan", "20", "--filter", "pupils-v2", "--risk", "the vendor's new category list"))
	if m == nil {
		t.Fatal("no proposal id")
	}
	later := m[1]
	if code, _, errOut := keystage(t, "", "--data", dir, "filter", "approve", later, "--approver", other); code == 0 || !strings.Contains(errOut, "only members of portal-senior-leaders") {
		t.Fatalf("approved by someone outside [approvals] filtering_groups: %d %s", code, errOut)
	}
	cli("filter", "approve", later, "--approver", head, "--note", "SLT 3 March")
	// Once the later change applies, the server has read the trail past
	// the unapproved one, which must have done nothing.
	out := until("the approved change", func(out string) bool { return strings.Contains(out, `Filter-Id = "pupils-v2"`) })
	if !strings.Contains(out, vlan("20")) {
		t.Fatalf("the unapproved proposal took effect:\n%s", out)
	}
	cli("filter", "approve", open, "--approver", head)
	until("the second approval", func(out string) bool {
		return strings.Contains(out, vlan("30")) && strings.Contains(out, `Filter-Id = "pupils-open"`)
	})
	if out := cli("filter", "list", "--all"); !strings.Contains(out, "superseded") || !strings.Contains(out, "social media open") {
		t.Errorf("filter list --all:\n%s", out)
	}
}
