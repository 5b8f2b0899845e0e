package ldapserver_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/ldapserver/ldaptest"
)

// TestSSSDPamtester signs people in to a Linux desktop the way SSSD does:
// sssd (Debian's sssd-ldap) runs as root against a Keystage LDAP server on
// loopback over ldaps://, and pamtester authenticates through pam_sss
// with a PAM service written for the test. A good password gets in; a
// suspended person and one without a signed AUP are refused, and SSSD's
// log (what a technician reads) carries the password policy control's
// "Account locked" and the reason from the diagnostic message.
//
// sssd's sockets are at fixed paths (/var/lib/sss/pipes), so the test
// takes a lock, refuses to run beside another sssd, keeps its own config
// file (mode 0600, as sssd demands) and domain, and removes the PAM
// service file, the domain's caches and its pid file when it ends.
func TestSSSDPamtester(t *testing.T) {
	sssd := needPeer(t, "sssd", "sssd-ldap and sssd-tools")
	pamtester := needPeer(t, "pamtester", "pamtester")
	if _, err := os.Stat("/lib/x86_64-linux-gnu/security/pam_sss.so"); err != nil {
		if _, err2 := os.Stat("/usr/lib/x86_64-linux-gnu/security/pam_sss.so"); err2 != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("libpam-sss is not installed in CI: .ci/run must install it")
			}
			t.Skip("libpam-sss not installed (apt-get install libpam-sss)")
		}
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the SSSD test needs root in CI: it runs sssd and writes /etc/pam.d/keystage-sssd-test")
		}
		t.Skip("the SSSD test needs root (it runs sssd and writes a PAM service file)")
	}
	lock, err := os.OpenFile("/run/lock/keystage-sssd-test.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Flock(int(lock.Fd()), syscall.LOCK_UN); lock.Close() })
	const pidFile = "/run/sssd.pid"
	if b, err := os.ReadFile(pidFile); err == nil {
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err == nil && syscall.Kill(pid, 0) == nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("an sssd is already running (pid %d): .ci/run stops the packaged one, the test needs its sockets", pid)
			}
			t.Skipf("an sssd is already running (pid %d): the test needs the machine's sssd sockets to itself", pid)
		}
	}

	srv := ldaptest.Start(t, ldaptest.Options{})
	dir := t.TempDir()
	const domain = "keystage-sssd-test"
	conf := filepath.Join(dir, "sssd.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`# written by keystage's TestSSSDPamtester
[sssd]
services = nss, pam
domains = %[1]s

[nss]

[pam]

[domain/%[1]s]
id_provider = ldap
auth_provider = ldap
access_provider = permit
ldap_uri = %[2]s
ldap_search_base = %[3]s
ldap_default_bind_dn = uid=%[4]s,ou=services,%[3]s
ldap_default_authtok = %[5]s
ldap_tls_cacert = %[6]s
ldap_tls_reqcert = demand
cache_credentials = false
entry_cache_timeout = 1
ldap_network_timeout = 5
ldap_opt_timeout = 5
debug_level = 7
`, domain, srv.LDAPSURL, base, ldaptest.Service, ldaptest.ServicePassword, srv.CAFile)), 0o600); err != nil {
		t.Fatal(err)
	}

	// sssd writes its caches, its config database (rewritten from our
	// file) and memory caches under /var/lib/sss: put back what was there
	// and remove what the test made.
	configLDB := "/var/lib/sss/db/config.ldb"
	origConfig, origErr := os.ReadFile(configLDB)
	before := map[string]bool{}
	for _, d := range []string{"/var/lib/sss/db", "/var/lib/sss/mc", "/var/lib/sss/pubconf", "/var/lib/sss/pipes", "/var/lib/sss/pipes/private"} {
		fs, _ := os.ReadDir(d)
		for _, f := range fs {
			before[filepath.Join(d, f.Name())] = true
		}
	}
	t.Cleanup(func() {
		for _, d := range []string{"/var/lib/sss/db", "/var/lib/sss/mc", "/var/lib/sss/pubconf", "/var/lib/sss/pipes", "/var/lib/sss/pipes/private"} {
			fs, _ := os.ReadDir(d)
			for _, f := range fs {
				if p := filepath.Join(d, f.Name()); !before[p] && !f.IsDir() {
					os.Remove(p)
				}
			}
		}
		if origErr == nil {
			os.WriteFile(configLDB, origConfig, 0o600)
		} else {
			os.Remove(configLDB)
		}
	})

	const service = "keystage-sssd-test"
	pamFile := filepath.Join("/etc/pam.d", service)
	if err := os.WriteFile(pamFile, []byte("# written by keystage's TestSSSDPamtester; removed when it ends\n"+
		"auth required pam_sss.so\naccount required pam_sss.so\npassword required pam_sss.so\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(pamFile) })

	var log syncLog
	cmd := exec.Command(sssd, "-i", "-c", conf, "--logger=stderr")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		os.Remove(pidFile)
		if t.Failed() {
			t.Logf("sssd log (last lines):\n%s", lastLines(log.String(), 80))
		}
	})

	pam := func(user, password string) (string, error) {
		c := exec.Command(pamtester, "-v", service, user, "authenticate")
		c.Stdin = strings.NewReader(password + "\n")
		out, err := c.CombinedOutput()
		return string(out), err
	}
	// sssd takes a moment to start its responders and go online.
	var out string
	for i := 0; ; i++ {
		select {
		case err := <-exited:
			t.Fatalf("sssd stopped: %v\n%s", err, lastLines(log.String(), 60))
		default:
		}
		out, err = pam(ldaptest.Teacher, ldaptest.TeacherPassword)
		if err == nil {
			break
		}
		if i == 60 {
			t.Fatalf("pamtester %s with the right password: %v\n%s", ldaptest.Teacher, err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(out, "successfully authenticated") {
		t.Errorf("pamtester %s: %s", ldaptest.Teacher, out)
	}

	// A suspended person: PAM says only "Authentication failure"; SSSD's
	// log has the control and the reason.
	out, err = pam(ldaptest.Suspended, ldaptest.OtherPassword)
	if err == nil || !strings.Contains(out, "Authentication failure") {
		t.Errorf("pamtester %s (suspended): %v\n%s", ldaptest.Suspended, err, out)
	}
	if !waitLog(&log, "Password Policy Response: expire [-1] grace [-1] error [Account locked]") {
		t.Errorf("SSSD's log lacks the password policy response for the suspended account")
	}
	if !waitLog(&log, "(keystage: suspended: ") {
		t.Errorf("SSSD's log lacks the reason from the diagnostic message")
	}
	// Without a signed AUP: the diagnostic names it.
	out, err = pam(ldaptest.Unsigned, ldaptest.OtherPassword)
	if err == nil || !strings.Contains(out, "Authentication failure") {
		t.Errorf("pamtester %s (AUP unsigned): %v\n%s", ldaptest.Unsigned, err, out)
	}
	if !waitLog(&log, "data ks1, v4563 (keystage: aup-unsigned: ") {
		t.Errorf("SSSD's log lacks the AUP reason")
	}
	if out, err := pam(ldaptest.Teacher, "wrong-password"); err == nil {
		t.Errorf("a wrong password got in:\n%s", out)
	}

	sssdFirstPassword(t, srv, pamtester, service)

	// The same bind from a go-ldap client that asks for the control.
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("CA: %v", err)
	}
	l, err := ldap.DialURL(srv.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	res, err := l.SimpleBind(&ldap.SimpleBindRequest{Username: person(ldaptest.Suspended), Password: ldaptest.OtherPassword,
		Controls: []ldap.Control{ldap.NewControlBeheraPasswordPolicy()}})
	var le *ldap.Error
	if !errors.As(err, &le) || le.ResultCode != 49 {
		t.Fatalf("go-ldap bind of the suspended account: %v", err)
	}
	if c, ok := ldap.FindControl(res.Controls, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy); !ok || c.Error != ldap.BeheraAccountLocked {
		t.Errorf("go-ldap bind: no accountLocked control: %+v", res.Controls)
	}
}

// needPeer finds a Debian tool for a real-peer test: skipped without it,
// a failure in CI.
func needPeer(t *testing.T, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed in CI: .ci/run must install %s", tool, pkg)
		}
		t.Skipf("%s not installed (apt-get install %s)", tool, pkg)
	}
	return p
}

// syncLog collects a child's output while the test reads it.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits for s to appear in the log: sssd's back end writes it a
// moment after PAM has its answer.
func waitLog(l *syncLog, s string) bool {
	for range 100 {
		if strings.Contains(l.String(), s) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sssdFirstPassword: a pupil given a first password signs in through SSSD
// and is told to choose a new one. pamtester stops at the first operation
// that fails, and acct_mgmt answers "new one required" (as it must, so
// that login(1) goes on to the change), so the change is a second
// pamtester run: a new password the
// policy refuses is not taken, and the policy's words reach the person;
// one it accepts is, and then signs in and binds.
func sssdFirstPassword(t *testing.T, srv *ldaptest.Server, pamtester, service string) {
	t.Helper()
	first := issueFirst(t, srv, ldaptest.Pupil)
	pam := func(ops []string, lines ...string) (string, error) {
		c := exec.Command(pamtester, append([]string{"-v", service, ldaptest.Pupil}, ops...)...)
		c.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := pam([]string{"authenticate", "acct_mgmt", "chauthtok"}, first)
	if err == nil || !strings.Contains(out, "successfully authenticated") || !strings.Contains(out, "new one required") ||
		!strings.Contains(out, "Password expired. Change your password now.") {
		t.Fatalf("pamtester authenticate acct_mgmt with a first password: %v; want authenticated, then a new password required\n%s", err, out)
	}
	// pam_sss lets root (pamtester) change a password only in the handle
	// that authenticated, so the second run authenticates again, and
	// changes the expired token as login(1) does after acct_mgmt's answer.
	change := []string{"authenticate", "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)"}
	// The pupil's own name is refused by every policy.
	weak := ldaptest.Pupil + "12"
	out, err = pam(change, first, first, weak, weak)
	if err == nil || !strings.Contains(out, "New Password") || !strings.Contains(out, "password not changed") || !strings.Contains(out, "[username]") {
		t.Errorf("pamtester chauthtok with a new password the policy refuses: %v\n%s", err, out)
	}
	const newPW = "Walrus-Teapot-Violin-58"
	out, err = pam(change, first, first, newPW, newPW)
	if err != nil || !strings.Contains(out, "authentication token altered successfully") {
		t.Fatalf("pamtester chauthtok with a good new password: %v\n%s", err, out)
	}
	out, err = pam([]string{"authenticate", "acct_mgmt"}, newPW)
	if err != nil || !strings.Contains(out, "successfully authenticated") {
		t.Errorf("pamtester with the new password: %v\n%s", err, out)
	}
	if out, err := pam([]string{"authenticate"}, first); err == nil {
		t.Errorf("the used first password still signs in:\n%s", out)
	}
	if err := dial(t, srv).Bind(person(ldaptest.Pupil), newPW); err != nil {
		t.Errorf("bind with the password chosen through SSSD: %v", err)
	}
}
