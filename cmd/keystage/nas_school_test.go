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

// A trust's access points per school, as a trust runs them: keystage nas
// add --school and keystage filter propose --school beside keystage
// serve's RADIUS frontend, and Debian's radclient as two access points
// (the demo's trust NAS on 127.0.0.0/8, Northgate's on 127.0.0.2).
func TestSchoolNASCommandsThroughRADIUS(t *testing.T) {
	radclient, err := exec.LookPath("radclient")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("radclient is not installed: CI must install freeradius-utils")
		}
		t.Skip("radclient is not installed (apt-get install freeradius-utils)")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--trust", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	conf := filepath.Join(dir, "keystage.toml")
	cli := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, stdin, append([]string{"--config", conf}, args...)...)
	}
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := cli("", args...)
		if code != 0 {
			t.Fatalf("keystage %s: %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	if code, _, errOut := cli(demoNASSecret+"-north\n", "nas", "add", "west-ap", "--address", "127.0.0.9/32", "--school", "west"); code != 2 || !strings.Contains(errOut, "not one of the trust's") {
		t.Errorf("nas add for a school not configured: %d %s", code, errOut)
	}
	if code, _, errOut := cli(demoNASSecret+"-north\n", "nas", "add", "north-ap", "--address", "127.0.0.2/32", "--school", "north"); code != 0 {
		t.Fatalf("nas add --school north: %d %s", code, errOut)
	}
	if out := must("nas", "list"); !regexp.MustCompile(`(?m)^north-ap .*north$`).MatchString(out) || !regexp.MustCompile(`(?m)^demo-loopback .*trust$`).MatchString(out) {
		t.Errorf("nas list:\n%s", out)
	}

	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, configPath: conf, dataDir: dir, demoDir: dir}
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
	// The demo pupil (at Northgate) and their Wi-Fi credential.
	var user, cred string
	for _, h := range f.Hints {
		if w := strings.Fields(h); len(w) > 4 && w[0] == "radtest" && w[2] == "pap" && w[4] != "wrong-password" {
			user, cred = w[3], w[4]
		}
	}
	if user == "" {
		t.Fatalf("no radtest hint: %q", f.Hints)
	}
	accept := func(src, secret string) string {
		t.Helper()
		cmd := exec.Command(radclient, "-x", "-r", "1", "-t", "2", cfg.RADIUS.AuthAddress, "auth", secret)
		cmd.Stdin = strings.NewReader(fmt.Sprintf("User-Name = %q\nUser-Password = %q\nMessage-Authenticator = 0x00\nPacket-Src-IP-Address = %s\n", user, cred, src))
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "Received Access-Accept") {
			t.Fatalf("radclient from %s: not accepted:\n%s", src, out)
		}
		return string(out)
	}
	vlan := func(v string) string { return fmt.Sprintf("Tunnel-Private-Group-Id:0 = %q", v) }
	// north-ap has its own secret: that it answers at all shows the
	// server took the request for north-ap's.
	var out string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		cmd := exec.Command(radclient, "-x", "-r", "1", "-t", "1", cfg.RADIUS.AuthAddress, "auth", demoNASSecret+"-north")
		cmd.Stdin = strings.NewReader(fmt.Sprintf("User-Name = %q\nUser-Password = %q\nMessage-Authenticator = 0x00\nPacket-Src-IP-Address = 127.0.0.2\n", user, cred))
		b, _ := cmd.CombinedOutput()
		if out = string(b); strings.Contains(out, "Received Access-Accept") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("north-ap never answered:\n%s", out)
		}
	}
	if !strings.Contains(out, vlan("20")) {
		t.Fatalf("at north-ap before any school mapping (the trust's):\n%s", out)
	}

	staff, err := s.ListAccounts(context.Background(), directory.AccountQuery{Role: directory.RoleStaff, Status: directory.StatusActive, Limit: 1})
	if err != nil || len(staff) < 1 {
		t.Fatalf("demo staff: %v %v", staff, err)
	}
	head := staff[0].Username
	must("group", "add", "portal-senior-leaders")
	must("group", "members", "add", "portal-senior-leaders", head)
	id := regexp.MustCompile(`proposal (\d+) for pupils at north's NAS clients recorded`)
	m := id.FindStringSubmatch(must("filter", "propose", "--school", "north", "--group", "pupils", "--vlan", "120", "--filter", "north-pupil-acl",
		"--risk", "Northgate's pupils' VLAN at its own access points"))
	if m == nil {
		t.Fatal("no proposal id")
	}
	if code, _, errOut := cli("", "filter", "propose", "--school", "west", "--group", "pupils", "--vlan", "1", "--risk", "x"); code == 0 || !strings.Contains(errOut, "not one of the trust's") {
		t.Errorf("a proposal for a school not configured: %d %s", code, errOut)
	}
	// Northgate's technician proposes for Northgate's access points, not
	// Southfield's.
	tech, err := s.AccountByMISID(context.Background(), demoTechnicianMIS)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli("", "--as", tech.Username, "filter", "propose", "--school", "south", "--group", "pupils", "--vlan", "1", "--risk", "x"); code == 0 || !strings.Contains(errOut, "you act for school north") {
		t.Errorf("north's technician proposing for south: %d %s", code, errOut)
	}
	if out := must("filter", "list"); !regexp.MustCompile(`(?m)^` + m[1] + ` +proposed +north +pupils`).MatchString(out) {
		t.Errorf("filter list:\n%s", out)
	}
	must("filter", "approve", m[1], "--approver", head, "--note", "trust IT 4 March")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		cmd := exec.Command(radclient, "-x", "-r", "1", "-t", "1", cfg.RADIUS.AuthAddress, "auth", demoNASSecret+"-north")
		cmd.Stdin = strings.NewReader(fmt.Sprintf("User-Name = %q\nUser-Password = %q\nMessage-Authenticator = 0x00\nPacket-Src-IP-Address = 127.0.0.2\n", user, cred))
		b, _ := cmd.CombinedOutput()
		if out = string(b); strings.Contains(out, vlan("120")) && strings.Contains(out, `Filter-Id = "north-pupil-acl"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("north's approved mapping never applied at north-ap:\n%s", out)
		}
	}
	// The trust's access point keeps the trust's mapping.
	if out := accept("127.0.0.1", demoNASSecret); !strings.Contains(out, vlan("20")) {
		t.Errorf("at the trust's NAS after north's change:\n%s", out)
	}
}
