package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is one program the harness started; stop ends it.
type server struct {
	name string
	cmd  *exec.Cmd
	log  string
}

// start runs a program in the foreground with its output in logPath.
func start(name, logPath string, args ...string) (*server, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	f.Close()
	return &server{name: name, cmd: cmd, log: logPath}, nil
}

// stop asks the program to end and kills it if it has not within ten
// seconds.
func (s *server) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// exited reports whether the program has already ended (a bad
// configuration), with the end of its log.
func (s *server) failure() error {
	b, _ := os.ReadFile(s.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Errorf("%s did not come up; the end of %s:\n%s", s.name, s.log, b)
}

// waitReady retries ready until it succeeds or a minute has passed.
func waitReady(ctx context.Context, s *server, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		if s.cmd.ProcessState != nil || ctx.Err() != nil {
			return errors.Join(err, s.failure())
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ports are the loopback ports of one run: Keystage and the other two
// never share one, and none is a standard port that a packaged service
// might hold.
type ports struct{ KSAuth, KSAcct, KSLDAP, FRAuth, SlapdLDAP, KSMetrics int }

func freePorts() (ports, error) {
	var out []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for len(out) < 6 {
		// A TCP port and the UDP port of the same number both free.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, err
		}
		held = append(held, l)
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		u.Close()
		out = append(out, p)
	}
	return ports{KSAuth: out[0], KSAcct: out[1], KSLDAP: out[2], FRAuth: out[3], SlapdLDAP: out[4], KSMetrics: out[5]}, nil
}

// keystageConf writes keystage serve's configuration: the seeded store,
// LDAP and RADIUS on loopback, PEAP with the shared certificate, and the
// argon2id cost that the seeded hashes have (so that no bind rehashes).
func keystageConf(dir string, pt ports, pki pkiFiles, cost argon2Cost, perAddress int) (string, error) {
	db, keys := keystageStore(dir)
	text := fmt.Sprintf(`# Written by bench/compare.
data_dir = %q
[database]
url = %q
[secrets]
key_file = %q
[log]
level = "warn"
[passwords.argon2]
memory_kib = %d
iterations = %d
parallelism = %d
[ldap]
enabled = true
listen = "127.0.0.1:%d"
ldaps = ""
base_dn = %q
[ldap.grants]
%s = ["people", "groups"]
[radius]
enabled = true
auth_address = "127.0.0.1:%d"
acct_address = "127.0.0.1:%d"
[radius.eap]
methods = ["peap"]
cert_file = %q
key_file = %q
[metrics]
listen = "127.0.0.1:%d"
`, dir, "sqlite:"+db, keys, cost.Memory, cost.Iterations, cost.Parallelism, pt.KSLDAP, baseDN, reader, pt.KSAuth, pt.KSAcct, pki.Cert, pki.Key, pt.KSMetrics)
	if perAddress > 0 {
		text = strings.Replace(text, "[ldap.grants]", fmt.Sprintf("max_searches_per_address = %d\n[ldap.grants]", perAddress), 1)
	}
	path := filepath.Join(dir, "keystage.toml")
	return path, os.WriteFile(path, []byte(text), 0o600)
}
