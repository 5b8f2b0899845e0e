package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/server"
)

// freeUDPPort finds a port to serve on (the demo's own, 1812, may be taken
// on a machine running tests in parallel).
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// The demo's RADIUS hints are real commands: run them, with the demo's
// ports swapped for free ones, against the demo school.
func TestDemoRADIUSHintsWork(t *testing.T) {
	if _, err := exec.LookPath("radtest"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("radtest is not installed: CI must install freeradius-utils")
		}
		t.Skip("radtest is not installed (apt-get install freeradius-utils)")
	}
	f, reg := serveDemoRADIUS(t, nil)
	var ran, eapol int
	for _, h := range f.Hints {
		if strings.HasPrefix(h, "eapol_test ") {
			// PEAP and TTLS as a phone runs them (twice: -r 1 re-authenticates), checking the demo CA and
			// the certificate's domain, with the real server.
			if _, err := exec.LookPath("eapol_test"); err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatal("eapol_test is not installed: CI must install eapoltest")
				}
				t.Log("eapol_test is not installed: EAP hints not run")
				continue
			}
			out, err := exec.Command("sh", "-c", h).CombinedOutput()
			eapol++
			if err != nil || !strings.Contains(string(out), "SUCCESS") || !strings.Contains(string(out), "MPPE keys OK: 2  mismatch: 0") {
				t.Errorf("%s: %v\n%s", h, err, tail(string(out), 30))
			}
			continue
		}
		if strings.HasPrefix(h, "#") {
			if !strings.Contains(h, "Wi-Fi credential is ") {
				t.Errorf("hint comment: %q", h)
			}
			continue
		}
		out, err := exec.Command("sh", "-c", h).CombinedOutput()
		ran++
		switch {
		case strings.Contains(h, "wrong-password"):
			if !strings.Contains(string(out), "Access-Reject") {
				t.Errorf("%s:\n%s", h, out)
			}
		case strings.Contains(h, "radclient"):
			if err != nil || !strings.Contains(string(out), "Accounting-Response") {
				t.Errorf("%s: %v\n%s", h, err, out)
			}
		default:
			if err != nil || !strings.Contains(string(out), "Access-Accept") || !strings.Contains(string(out), `Tunnel-Private-Group-Id:0 = "20"`) {
				t.Errorf("%s: %v\n%s", h, err, out)
			}
		}
	}
	if ran != 4 {
		t.Errorf("ran %d hint commands, want 4: %q", ran, f.Hints)
	}
	if _, err := exec.LookPath("eapol_test"); err == nil && eapol != 3 {
		t.Errorf("ran %d eapol_test hints, want 3: %q", eapol, f.Hints)
	}
	if n := gather(t, reg, "keystage_radius_replies_total", "access-accept"); n != float64(2+2*eapol) { // -r 1: each eapol_test authenticates twice
		t.Errorf("accepts exported: %v", n)
	}
}

// serveDemoRADIUS seeds the demo school, lets prepare change it (may be
// nil), and serves the demo's RADIUS frontend on free ports until the test
// ends.
func serveDemoRADIUS(t *testing.T, prepare func(ctx context.Context, d *directory.Directory)) (*server.Frontend, *prometheus.Registry) {
	t.Helper()
	return serveDemoRADIUSWith(t, prepare, nil)
}

// serveDemoRADIUSWith is serveDemoRADIUS with the configuration adjusted by
// configure (nil: as the demo has it).
func serveDemoRADIUSWith(t *testing.T, prepare func(ctx context.Context, d *directory.Directory), configure func(*RADIUSSection)) (*server.Frontend, *prometheus.Registry) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	var stderr bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr, dataDir: dir, demoDir: dir}
	cfg, err := e.config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.LDAP.demo(dir) // as keystage demo does: radius.realms defaults to its domain
	cfg.RADIUS.demo(dir)
	cfg.RADIUS.AuthAddress, cfg.RADIUS.AcctAddress = freeUDPPort(t), freeUDPPort(t)
	if configure != nil {
		configure(&cfg.RADIUS)
	}
	s, err := e.openStore(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := e.directoryWithKeys(s, false)
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(context.Background(), d)
	}
	f, err := buildRADIUS(e, d, cfg)
	if err != nil || f == nil {
		t.Fatalf("build: %v", err)
	}
	reg := prometheus.NewRegistry()
	if err := f.Metrics(reg); err != nil {
		t.Fatal(err)
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
	return f, reg
}

// gather reads one counter from the registry, as a scrape would.
func gather(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s}", name, label)
	return 0
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// A device that sends NAME@demo.keystage, the demo's LDAP domain, is
// accepted: realms default to ldap.domain.
func TestDemoRADIUSAcceptsTheLDAPRealm(t *testing.T) {
	if _, err := exec.LookPath("radtest"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("radtest is not installed: CI must install freeradius-utils")
		}
		t.Skip("radtest is not installed (apt-get install freeradius-utils)")
	}
	f, _ := serveDemoRADIUS(t, nil)
	for _, h := range f.Hints {
		w := strings.Fields(h)
		if len(w) < 8 || w[0] != "radtest" || w[2] != "pap" || w[4] == "wrong-password" {
			continue
		}
		// radtest -t pap USER CRED SERVER 0 SECRET
		out, err := exec.Command("radtest", "-t", "pap", w[3]+"@demo.keystage", w[4], w[5], w[6], w[7]).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Access-Accept") {
			t.Errorf("%s@demo.keystage: %v\n%s", w[3], err, out)
		}
		out, _ = exec.Command("radtest", "-t", "pap", w[3]+"@elsewhere.example", w[4], w[5], w[6], w[7]).CombinedOutput()
		if !strings.Contains(string(out), "Access-Reject") {
			t.Errorf("%s@elsewhere.example:\n%s", w[3], out)
		}
		return
	}
	t.Fatalf("no radtest -t pap hint: %q", f.Hints)
}
