// Package sambatest runs a throw-away Samba Active Directory domain
// controller for tests: a domain provisioned afresh under a temporary
// directory, served by samba in the foreground (LDAP, LDAPS and the KDC
// only) on a loopback address of its own, stopped when the test ends. It
// needs root and Debian's samba-ad-dc, krb5-user and iproute2; without
// them a test skips, and fails under CI=true. It must not be used outside
// tests.
package sambatest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/downstream/ad"
	"keystage.dev/keystage/pki"
)

// DC is a throw-away Samba Active Directory domain controller: a
// domain provisioned afresh under a temporary directory, served by samba
// in the foreground (LDAP, LDAPS and the KDC only) on a loopback address
// of its own, stopped when the test ends.
type DC struct {
	Dir     string // the domain's files
	Conf    string // its smb.conf, for samba-tool -s
	IP      string // the loopback address it serves on
	Realm   string // KEYSTAGE.TEST
	Base    string // DC=keystage,DC=test
	AdminPW string // the Administrator's password
	// TLS trusts the DC's certificate (made by the test, for IP).
	TLS *tls.Config
	// CertPEM is that certificate.
	CertPEM []byte
	krb5    string // a krb5.conf naming only this KDC
}

// needSamba skips without root or Debian's samba-ad-dc and krb5-user, and
// fails in CI, which installs them (.ci/run).
func needSamba(t testing.TB) {
	t.Helper()
	for _, p := range []string{"samba", "samba-tool", "kinit", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed: CI must install samba-ad-dc, samba-ad-provision, krb5-user and iproute2", p)
			}
			t.Skipf("%s not installed (apt-get install samba-ad-dc krb5-user)", p)
		}
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("a Samba domain controller needs root")
		}
		t.Skip("a Samba domain controller needs root")
	}
}

// Run runs a program (samba-tool, say) and returns its output; it fails
// the test when the program fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, errOut.Bytes())
	}
	return string(out)
}

// loopbackAddress picks a 127.x.y.z that no interface holds, and puts it on
// lo for the test: samba binds only to addresses its interfaces hold.
func loopbackAddress(t testing.TB) string {
	t.Helper()
	have, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for _, a := range have {
		if n, ok := a.(*net.IPNet); ok {
			held[n.IP.String()] = true
		}
	}
	for i := 0; i < 200; i++ {
		ip := fmt.Sprintf("127.88.%d.%d", (os.Getpid()+i)%250+1, 20+i%200)
		if held[ip] {
			continue
		}
		Run(t, "ip", "addr", "add", ip+"/32", "dev", "lo")
		t.Cleanup(func() { exec.Command("ip", "addr", "del", ip+"/32", "dev", "lo").Run() })
		return ip
	}
	t.Fatal("no free loopback address")
	return ""
}

// Start provisions a domain and serves it; it stops at the test's end.
func Start(t testing.TB) *DC {
	t.Helper()
	needSamba(t)
	dc := &DC{Dir: t.TempDir(), Realm: "KEYSTAGE.TEST", Base: "DC=keystage,DC=test", AdminPW: "Adm1n-Pass-xyz!"}
	dc.IP = loopbackAddress(t)
	began := time.Now()
	Run(t, "samba-tool", "domain", "provision", "--realm", dc.Realm, "--domain", "KEYSTAGE", "--adminpass", dc.AdminPW,
		"--targetdir", dc.Dir, "--server-role", "dc", "--dns-backend", "NONE", "--host-name", "ksdc", "--host-ip", dc.IP)
	t.Logf("samba-tool domain provision took %s", time.Since(began).Round(100*time.Millisecond))
	dc.Conf = filepath.Join(dc.Dir, "etc", "smb.conf")
	conf, err := os.ReadFile(dc.Conf)
	if err != nil {
		t.Fatal(err)
	}
	// Only what the test needs, on its own address, with its files under
	// the temporary directory.
	var kept []string
	for _, l := range strings.Split(string(conf), "\n") {
		if k := strings.TrimSpace(l); strings.HasPrefix(k, "server services") || strings.HasPrefix(k, "log file") || strings.HasPrefix(k, "interfaces") || strings.HasPrefix(k, "bind interfaces only") {
			continue
		}
		kept = append(kept, l)
		if strings.TrimSpace(l) == "[global]" {
			kept = append(kept, "\tserver services = ldap, kdc", "\tinterfaces = "+dc.IP, "\tbind interfaces only = yes",
				"\tpid directory = "+filepath.Join(dc.Dir, "run"), "\tlog file = "+filepath.Join(dc.Dir, "log.%m"), "\tdisable netbios = yes")
		}
	}
	certPEM, keyPEM, err := pki.SelfSignedPEM("ksdc.keystage.test", "Keystage test domain", []string{dc.IP, "ksdc.keystage.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dc.Dir, "dc-cert.pem"), filepath.Join(dc.Dir, "dc-key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, l := range kept {
		if strings.TrimSpace(l) == "[global]" {
			kept = slices.Insert(kept, i+1, "\ttls enabled = yes", "\ttls certfile = "+certFile, "\ttls keyfile = "+keyFile, "\ttls cafile = ")
			break
		}
	}
	for _, d := range []string{"run", "cache"} {
		if err := os.MkdirAll(filepath.Join(dc.Dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(dc.Conf, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	samba := exec.Command("samba", "-i", "-M", "single", "-s", dc.Conf, "--debug-stdout", "-d", "1")
	samba.Stdout, samba.Stderr = &out, &out
	if err := samba.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		samba.Process.Kill()
		samba.Wait()
		if t.Failed() {
			t.Logf("samba's output:\n%s", out.String())
		}
	})
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(dc.IP, "636"), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if i > 600 {
			t.Fatalf("samba did not start: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("the test's certificate does not parse")
	}
	dc.TLS = &tls.Config{RootCAs: pool, ServerName: dc.IP, MinVersion: tls.VersionTLS12}
	dc.CertPEM = certPEM
	dc.krb5 = filepath.Join(dc.Dir, "krb5.conf")
	if err := os.WriteFile(dc.krb5, []byte(fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false
[realms]
	%[1]s = {
		kdc = %[2]s
	}
`, dc.Realm, dc.IP)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("samba serving on %s after %s", dc.IP, time.Since(began).Round(100*time.Millisecond))
	return dc
}

// URL is the DC's LDAPS URL.
func (dc *DC) URL() string { return "ldaps://" + dc.IP }

// Admin binds as the domain's Administrator, for the test's own changes.
func (dc *DC) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(dc.URL(), ldap.DialWithTLSConfig(dc.TLS))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind("Administrator@"+strings.ToLower(dc.Realm), dc.AdminPW); err != nil {
		t.Fatal(err)
	}
	return c
}

// Config is Keystage's configuration for the domain, binding as the
// Administrator (a school would delegate rights over the OU instead).
func (dc *DC) Config() ad.Config {
	return ad.Config{URL: dc.URL(), TLS: dc.TLS, BindDN: "CN=Administrator,CN=Users," + dc.Base, BindPassword: dc.AdminPW,
		BaseDN: dc.Base, OU: "OU=Keystage," + dc.Base, Protected: []string{"svc-backup"}}
}

// Kinit asks the domain's KDC for a ticket as user with password; it
// reports whether it got one, and what kinit said.
func (dc *DC) Kinit(t testing.TB, user, password string) (bool, string) {
	t.Helper()
	cmd := exec.Command("kinit", user+"@"+dc.Realm)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+dc.krb5, "KRB5CCNAME=FILE:"+filepath.Join(dc.Dir, "ccache-"+user), "LANG=C")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.CombinedOutput()
	return err == nil, strings.TrimSpace(string(out))
}

// UserShow is samba-tool user show, as a map of attribute to values.
func (dc *DC) UserShow(t testing.TB, user string) map[string][]string {
	t.Helper()
	out := Run(t, "samba-tool", "user", "show", user, "-s", dc.Conf)
	m := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			m[k] = append(m[k], v)
		}
	}
	return m
}
