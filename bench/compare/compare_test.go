package main

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestServersAcceptConfig starts FreeRADIUS and slapd from the generated
// configuration with 22 people (two of them staff) and sends each kind of request once, so
// that a change to the generators that either server refuses shows here
// rather than in a long benchmark run. Outside CI it skips without them.
func TestServersAcceptConfig(t *testing.T) {
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed (Debian packages freeradius and slapd); CI must have it", p)
			}
			t.Skipf("%s not installed (apt-get install freeradius slapd): skipping", p)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := options{dir: t.TempDir(), people: 22, cost: "low", slapdHash: "argon2", keyType: "ecdsa", sample: 10, threads: 2}
	cost, err := costOf(o.cost)
	if err != nil {
		t.Fatal(err)
	}
	env, err := prepare(ctx, o, cost)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.people) != 22 || len(env.sample) == 0 {
		t.Fatalf("%d people, %d sampled: want 22 and at least 1", len(env.people), len(env.sample))
	}
	if len(env.sample[0].Groups) == 0 {
		t.Fatalf("%s is in no group: the groups and memberof tests would test nothing", env.sample[0].Username)
	}
	sv := &servers{}
	t.Cleanup(sv.stop)
	if sv.pt, err = freePorts(); err != nil {
		t.Fatal(err)
	}
	if sv.radius, err = startFreeRADIUS(ctx, o, env, sv); err != nil {
		t.Fatal(err)
	}
	if sv.slapd, err = startSlapd(ctx, o, env, sv); err != nil {
		t.Fatal(err)
	}
	p := env.sample[0]
	for _, tc := range []struct {
		name string
		w    func() (worker, error)
	}{
		{"PAP", radiusOp(sv.frAuth(), "pap")},
		{"MS-CHAPv2", radiusOp(sv.frAuth(), "mschapv2")},
		{"PEAP-MSCHAPv2", peapOp(sv.frAuth(), env.pki.CA, false)},
		{"LDAP search", ldapOp(sv.slapdLDAP(), "search")},
		{"LDAP bind", ldapOp(sv.slapdLDAP(), "bind")},
		{"LDAP groups", ldapOp(sv.slapdLDAP(), "groups")},
		{"LDAP memberOf", ldapOp(sv.slapdLDAP(), "memberof")},
	} {
		w, err := tc.w()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := w.do(ctx, p); err != nil {
			t.Errorf("%s as %s: %v", tc.name, p.Username, err)
		}
		w.close()
	}
	// A wrong credential is refused: the servers check, not just answer.
	wrong := p
	wrong.WiFi += "x"
	w, err := radiusOp(sv.frAuth(), "pap")()
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if err := w.do(ctx, wrong); err == nil {
		t.Errorf("FreeRADIUS accepted a wrong Wi-Fi credential")
	}
}

func TestSafeLDIF(t *testing.T) {
	for _, tc := range []struct {
		in   string
		safe bool
	}{
		{"jsmith", true},
		{"", true},
		{"Zoë Smith", false},
		{" leading", false},
		{":colon", false},
		{"<less", false},
		{"trailing ", false},
		{"O'Connor-Smyth", true},
		{"two\nlines", false},
	} {
		if got := safeLDIF(tc.in); got != tc.safe {
			t.Errorf("safeLDIF(%q) = %v, want %v", tc.in, got, tc.safe)
		}
	}
}

func TestMedianAndPercentile(t *testing.T) {
	rs := []result{{OK: 10, Elapsed: time.Second}, {OK: 30, Elapsed: time.Second}, {OK: 20, Elapsed: time.Second}}
	if got := median(rs, result.rate); got != 20 {
		t.Errorf("median of 10, 30, 20/s = %v, want 20", got)
	}
	if got := median(rs[:2], result.rate); got != 20 {
		t.Errorf("median of 10, 30/s = %v, want 20", got)
	}
	r := result{Lat: []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
	if r.pct(0.5) != 6 || r.pct(0.99) != 10 || r.pct(0) != 1 {
		t.Errorf("percentiles of 1..10: p0 %d p50 %d p99 %d", r.pct(0), r.pct(0.5), r.pct(0.99))
	}
}

func TestParseTests(t *testing.T) {
	got, err := parseTests("pap, bind")
	if err != nil || len(got) != 2 || got[0].name != "pap" || got[1].name != "bind" {
		t.Errorf("parseTests(pap, bind) = %v, %v", got, err)
	}
	if _, err := parseTests("pap,nope"); err == nil {
		t.Errorf("parseTests accepted an unknown test")
	}
	if _, err := parseTests(""); err == nil {
		t.Errorf("parseTests accepted an empty list")
	}
}

// -searches-per-address lands in keystage's [ldap] section, and without it
// the section keeps keystage's default.
func TestKeystageConfSearchesPerAddress(t *testing.T) {
	for _, n := range []int{0, 16} {
		dir := t.TempDir()
		path, err := keystageConf(dir, ports{}, pkiFiles{}, argon2Cost{Memory: 64, Iterations: 1, Parallelism: 1}, n)
		if err != nil {
			t.Fatal(err)
		}
		var conf struct {
			LDAP struct {
				PerAddress *int `toml:"max_searches_per_address"`
			} `toml:"ldap"`
		}
		if _, err := toml.DecodeFile(path, &conf); err != nil {
			t.Fatal(err)
		}
		switch {
		case n == 0 && conf.LDAP.PerAddress != nil:
			t.Errorf("default: max_searches_per_address = %d written", *conf.LDAP.PerAddress)
		case n > 0 && (conf.LDAP.PerAddress == nil || *conf.LDAP.PerAddress != n):
			t.Errorf("-searches-per-address %d: [ldap] max_searches_per_address is %v", n, conf.LDAP.PerAddress)
		}
	}
}

// The CPU time read from /proc grows as the process works, and a process
// that is not there reads as 0 (no figure rather than a wrong one).
func TestCPUTime(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	before := cpuTimeOf(os.Getpid())
	x := 0
	for cpuTimeOf(os.Getpid()) <= before {
		for i := range 1_000_000 {
			x += i % 7
		}
	}
	if after := cpuTimeOf(os.Getpid()); after <= before || before < 0 {
		t.Fatalf("CPU time %v then %v", before, after)
	}
	if cpuTimeOf(1<<30) != 0 || cpuTime(nil) != 0 {
		t.Error("a process that is not there has a CPU time")
	}
	_ = x
}
