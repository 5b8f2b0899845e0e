package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLDAPDemoHintsWork seeds the demo school, serves its LDAP section on
// ports of its own, and runs every hint the demo prints with ldap-utils.
func TestLDAPDemoHintsWork(t *testing.T) {
	for _, tool := range []string{"ldapwhoami", "ldapsearch", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed in CI", tool)
			}
			t.Skipf("%s not installed (apt-get install ldap-utils)", tool)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, dataDir: dir}
	cfg, err := loadConfig("", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LDAP.demo(dir)
	cfg.LDAP.Listen, cfg.LDAP.LDAPS = "127.0.0.1:0", "127.0.0.1:0"
	if err := cfg.validate().err("demo"); err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	s, err := e.openStore(false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := e.directoryWithKeys(s, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := seedDemo(e, d); err != nil {
		t.Fatal(err)
	}
	f, err := buildLDAP(e, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	if len(f.Hints) != 3 {
		t.Fatalf("hints: %q", f.Hints)
	}
	for _, h := range f.Hints {
		out, err := exec.Command("sh", "-c", h).CombinedOutput()
		if err != nil {
			t.Errorf("hint failed: %s\n%v\n%s", h, err, out)
			continue
		}
		if !strings.Contains(string(out), "dn:") {
			t.Errorf("hint %s printed %s", h, out)
		}
	}
}

func TestLDAPConfigProblems(t *testing.T) {
	s := defaultLDAP()
	s.Enabled = true
	s.Listen = "nowhere"
	s.BaseDN = "not a dn"
	s.CertFile = "/x.pem"
	s.Grants = map[string][]string{"nss": {"people", "everything"}, "Bad Name": {"groups"}}
	s.LockoutExempt = []string{"10.0.0.5", "moodle.school"}
	s.MaxConnections, s.MaxConnectionsPerAddress, s.MaxSearches = 100, 200, -1
	s.FrameTimeout.Duration, s.MaxRequestBytes, s.MaxFilterTerms = -time.Second, 100, 3
	var p problems
	s.validate(&p)
	msg := strings.Join(p, "\n")
	for _, want := range []string{"ldap.listen", "ldap.base_dn", "cert_file and ldap.key_file", "ldap.grants.nss", "ldap.grants.Bad Name", "ldap.lockout_exempt: \"moodle.school\"",
		"ldap.max_connections_per_address = 200", "ldap.max_searches = -1", "ldap.frame_timeout", "ldap.max_request_bytes = 100", "ldap.max_filter_terms = 3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
	ok := defaultLDAP()
	ok.Enabled, ok.LDAPS = true, ""
	ok.LockoutExempt = []string{"10.0.0.5", "192.168.10.0/24"}
	p = nil
	ok.validate(&p)
	if len(p) != 0 {
		t.Errorf("default section with ldaps off: %v", p)
	}
}
