package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/passwords"
)

// setup is what a working directory was prepared with; a run with the same
// reuses it.
type setup struct {
	People    int    `json:"people"`
	Cost      string `json:"cost"`
	SlapdHash string `json:"slapd_hash"`
	Key       string `json:"key"`
	// LoginHash is the argon2id hash that both Keystage and ({ARGON2})
	// slapd hold for the login password.
	LoginHash string `json:"login_hash"`
	// Layout changes when what slapd is given changes (2: groups and
	// memberOf), so that an older working directory is set up again.
	Layout int `json:"layout"`
}

// layout is the current Layout.
const layout = 2

// environment is a prepared working directory.
type environment struct {
	setup
	ks, fr, sl string // Keystage's, FreeRADIUS's and slapd's directories
	pki        pkiFiles
	people     []person
	sample     []person
}

func dirsOf(root string) (ks, fr, sl string) {
	return filepath.Join(root, "keystage"), filepath.Join(root, "freeradius"), filepath.Join(root, "slapd")
}

// prepare sets the working directory up for o, or reuses it when it was
// set up the same way.
func prepare(ctx context.Context, o options, cost argon2Cost) (*environment, error) {
	env := &environment{setup: setup{People: o.people, Cost: o.cost, SlapdHash: o.slapdHash, Key: o.keyType, Layout: layout}}
	env.ks, env.fr, env.sl = dirsOf(o.dir)
	env.pki = pkiIn(o.dir)
	marker := filepath.Join(o.dir, "setup.json")
	var have setup
	if b, err := os.ReadFile(marker); err == nil && json.Unmarshal(b, &have) == nil {
		want := env.setup
		want.LoginHash = have.LoginHash
		if have == want {
			env.setup = have
			st, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(env.ks, "keystage.db"), ReadOnly: true})
			if err != nil {
				return nil, err
			}
			defer st.Close()
			if env.people, err = readPeople(ctx, st); err != nil {
				return nil, err
			}
			env.sample = sampleStaff(env.people, o.sample)
			fmt.Fprintf(os.Stderr, "reusing %s (set up for %d people)\n", o.dir, have.People)
			return env, nil
		}
	}
	os.Remove(marker)
	for _, d := range []string{env.ks, env.fr, env.sl} {
		if err := os.RemoveAll(d); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	var err error
	if env.pki, err = makePKI(o.dir, o.keyType); err != nil {
		return nil, err
	}
	// One hash for everyone (see loginPassword).
	if env.LoginHash, err = (&passwords.Hasher{Params: cost}).Hash(loginPassword); err != nil {
		return nil, err
	}
	t0 := time.Now()
	last := time.Now()
	env.people, err = seedKeystage(ctx, env.ks, o.people, env.LoginHash, func(done, total int) {
		if time.Since(last) > 10*time.Second || done == total {
			fmt.Fprintf(os.Stderr, "keystage: %d of %d people stored (%s)\n", done, total, time.Since(t0).Round(time.Second))
			last = time.Now()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("seeding Keystage: %w", err)
	}
	fmt.Fprintf(os.Stderr, "keystage: seeded in %s\n", time.Since(t0).Round(time.Second))
	t1 := time.Now()
	if err := writeUsers(filepath.Join(env.fr, "users"), env.people); err != nil {
		return nil, err
	}
	conf, err := slapdConf(env.sl, o.slapdHash, o.threads)
	if err != nil {
		return nil, err
	}
	if err := loadSlapd(ctx, env.sl, conf, env.people, o.slapdHash, env.LoginHash); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "freeradius users file and slapadd: %s\n", time.Since(t1).Round(time.Second))
	b, _ := json.Marshal(env.setup)
	if err := os.WriteFile(marker, b, 0o600); err != nil {
		return nil, err
	}
	env.sample = sampleStaff(env.people, o.sample)
	return env, nil
}

// sampleStaff keeps every k-th member of staff. Only staff: the generated
// pupils have no parental consent, so Keystage's gate (rightly) refuses
// them Wi-Fi and LDAP, which FreeRADIUS and slapd know nothing about; a
// refusal is not what is compared.
func sampleStaff(people []person, want int) []person {
	var staff []person
	for _, p := range people {
		if p.Staff {
			staff = append(staff, p)
		}
	}
	step := max(len(staff)/max(want, 1), 1)
	var out []person
	for i := 0; i < len(staff) && len(out) < want; i += step {
		out = append(out, staff[i])
	}
	return out
}

// servers are the three programs of a run.
type servers struct {
	pt                      ports
	keystage, radius, slapd *server
}

func (s *servers) stop() {
	for _, p := range []*server{s.keystage, s.radius, s.slapd} {
		p.stop()
	}
}

// startServers writes each server's configuration for this run's ports
// and starts them, waiting until each answers a real request.
func startServers(ctx context.Context, o options, env *environment, cost argon2Cost) (sv *servers, err error) {
	sv = &servers{}
	defer func() {
		if err != nil {
			sv.stop()
		}
	}()
	if sv.pt, err = freePorts(); err != nil {
		return nil, err
	}
	if sv.keystage, err = startKeystage(ctx, o, env, sv, cost); err != nil {
		return nil, err
	}
	if sv.radius, err = startFreeRADIUS(ctx, o, env, sv); err != nil {
		return nil, err
	}
	if sv.slapd, err = startSlapd(ctx, o, env, sv); err != nil {
		return nil, err
	}
	return sv, nil
}

// startKeystage builds keystage from this tree (unless -keystage names a
// binary) and runs keystage serve.
func startKeystage(ctx context.Context, o options, env *environment, sv *servers, cost argon2Cost) (*server, error) {
	bin := o.keystage
	if bin == "" {
		bin = filepath.Join(o.dir, "keystage-bin")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "keystage.dev/keystage/cmd/keystage").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building keystage: %w: %s", err, out)
		}
	}
	conf, err := keystageConf(env.ks, sv.pt, env.pki, cost, o.perAddress)
	if err != nil {
		return nil, err
	}
	args := []string{bin, "--config", conf, "serve"}
	if o.cpuProfile != "" {
		args = append(args, "--cpuprofile", o.cpuProfile)
	}
	began := time.Now()
	s, err := start("keystage serve", filepath.Join(o.dir, "keystage.log"), args...)
	if err != nil {
		return nil, err
	}
	if err := ready(ctx, s, env, radiusOp(sv.ksAuth(), "pap"), ldapOp(sv.ksLDAP(), "search")); err != nil {
		return s, err
	}
	first := time.Since(began)
	// The runs begin once the in-memory view has loaded, as in a school
	// whose server started before the morning: until then Keystage reads
	// the store, and a run would measure the start, not the service.
	if err := waitViewFresh(ctx, sv.pt.KSMetrics); err != nil {
		return s, err
	}
	fmt.Printf("keystage serve: first answer %.1fs after start, in-memory view loaded %.1fs after start; RSS %d MiB\n",
		first.Seconds(), time.Since(began).Seconds(), rssMiB(s))
	return s, nil
}

// waitViewFresh polls keystage serve's metrics until its in-memory view
// answers (keystage_view_fresh 1); a build without the view answers at
// once.
func waitViewFresh(ctx context.Context, port int) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fresh, found := false, false
			for _, line := range strings.Split(string(body), "\n") {
				if v, ok := strings.CutPrefix(line, "keystage_view_fresh "); ok {
					found, fresh = true, strings.TrimSpace(v) == "1"
				}
			}
			if !found || fresh {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("keystage serve's in-memory view did not load within 10 minutes")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// metricValue is one metric's value from keystage serve's /metrics, or
// "?" when it cannot be read.
func metricValue(port int, name string) string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// other is the server a test compares Keystage with.
func (s *servers) other(t test) *server {
	if t.other == "FreeRADIUS" {
		return s.radius
	}
	return s.slapd
}

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// the architectures Linux fixes it for user space).
const userHZ = 100

// cpuTime is the CPU time (user and system, every thread) a server has
// used so far (Linux); 0 when it cannot be read.
func cpuTime(s *server) time.Duration {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return cpuTimeOf(s.cmd.Process.Pid)
}

// cpuTimeOf is cpuTime of the process pid.
func cpuTimeOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count from after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	// Fields 14 and 15 of the line (utime, stime) are the 12th and 13th
	// after the name.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * time.Second / userHZ
}

// rssMiB is a server's resident memory (Linux), 0 when it cannot be read.
func rssMiB(s *server) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	return 0
}

func startFreeRADIUS(ctx context.Context, o options, env *environment, sv *servers) (*server, error) {
	if err := freeradiusConf(env.fr, sv.pt.FRAuth, env.pki, o.threads); err != nil {
		return nil, err
	}
	s, err := start("freeradius", filepath.Join(o.dir, "freeradius.log"), "freeradius", "-f", "-d", env.fr, "-n", "radiusd", "-l", "stdout")
	if err != nil {
		return nil, err
	}
	return s, ready(ctx, s, env, radiusOp(sv.frAuth(), "pap"))
}

func startSlapd(ctx context.Context, o options, env *environment, sv *servers) (*server, error) {
	conf, err := slapdConf(env.sl, o.slapdHash, o.threads)
	if err != nil {
		return nil, err
	}
	s, err := start("slapd", filepath.Join(o.dir, "slapd.log"), "slapd", "-d", "0", "-f", conf,
		"-h", fmt.Sprintf("ldap://127.0.0.1:%d/", sv.pt.SlapdLDAP))
	if err != nil {
		return nil, err
	}
	return s, ready(ctx, s, env, ldapOp(sv.slapdLDAP(), "search"))
}

// ready waits until s answers each kind of request for one sampled person.
func ready(ctx context.Context, s *server, env *environment, kinds ...func() (worker, error)) error {
	for _, w := range kinds {
		err := waitReady(ctx, s, func(ctx context.Context) error {
			wk, err := w()
			if err != nil {
				return err
			}
			defer wk.close()
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			return wk.do(ctx, env.sample[0])
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *servers) ksAuth() string    { return fmt.Sprintf("127.0.0.1:%d", s.pt.KSAuth) }
func (s *servers) frAuth() string    { return fmt.Sprintf("127.0.0.1:%d", s.pt.FRAuth) }
func (s *servers) ksLDAP() string    { return fmt.Sprintf("ldap://127.0.0.1:%d", s.pt.KSLDAP) }
func (s *servers) slapdLDAP() string { return fmt.Sprintf("ldap://127.0.0.1:%d", s.pt.SlapdLDAP) }

// test is one thing compared: how to make a worker against each side.
type test struct {
	name, other string
	ks, them    func(sv *servers, env *environment) func() (worker, error)
}

var allTests = []test{
	{"pap", "FreeRADIUS", func(sv *servers, _ *environment) func() (worker, error) { return radiusOp(sv.ksAuth(), "pap") },
		func(sv *servers, _ *environment) func() (worker, error) { return radiusOp(sv.frAuth(), "pap") }},
	{"mschapv2", "FreeRADIUS", func(sv *servers, _ *environment) func() (worker, error) { return radiusOp(sv.ksAuth(), "mschapv2") },
		func(sv *servers, _ *environment) func() (worker, error) { return radiusOp(sv.frAuth(), "mschapv2") }},
	{"peap", "FreeRADIUS", func(sv *servers, env *environment) func() (worker, error) {
		return peapOp(sv.ksAuth(), env.pki.CA, false)
	},
		func(sv *servers, env *environment) func() (worker, error) {
			return peapOp(sv.frAuth(), env.pki.CA, false)
		}},
	// Keystage only: Go's TLS client resumes by session ticket, which
	// Keystage issues, while FreeRADIUS 3.2 resumes by session id, so a Go
	// peer cannot show FreeRADIUS's resumption.
	{"peap-resumed", "—", func(sv *servers, env *environment) func() (worker, error) {
		return peapOp(sv.ksAuth(), env.pki.CA, true)
	}, nil},
	{"search", "slapd", func(sv *servers, _ *environment) func() (worker, error) { return ldapOp(sv.ksLDAP(), "search") },
		func(sv *servers, _ *environment) func() (worker, error) { return ldapOp(sv.slapdLDAP(), "search") }},
	{"bind", "slapd", func(sv *servers, _ *environment) func() (worker, error) { return ldapOp(sv.ksLDAP(), "bind") },
		func(sv *servers, _ *environment) func() (worker, error) { return ldapOp(sv.slapdLDAP(), "bind") }},
	{"groups", "slapd", func(sv *servers, _ *environment) func() (worker, error) { return ldapOp(sv.ksLDAP(), "groups") },
		func(sv *servers, _ *environment) func() (worker, error) { return ldapOp(sv.slapdLDAP(), "groups") }},
	{"memberof", "slapd", func(sv *servers, _ *environment) func() (worker, error) { return ldapOp(sv.ksLDAP(), "memberof") },
		func(sv *servers, _ *environment) func() (worker, error) { return ldapOp(sv.slapdLDAP(), "memberof") }},
}

func parseTests(list string) ([]test, error) {
	var out []test
	var bad []error
	for _, name := range splitList(list) {
		found := false
		for _, t := range allTests {
			if t.name == name {
				out = append(out, t)
				found = true
			}
		}
		if !found {
			bad = append(bad, fmt.Errorf("-tests: %q is not one of pap, mschapv2, peap, peap-resumed, search, bind, groups, memberof", name))
		}
	}
	if len(out) == 0 && len(bad) == 0 {
		bad = append(bad, errors.New("-tests: empty"))
	}
	return out, errors.Join(bad...)
}
