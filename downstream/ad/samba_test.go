package ad_test

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

// sambaDC is a throw-away Samba Active Directory domain controller: a
// domain provisioned afresh under a temporary directory, served by samba
// in the foreground (LDAP, LDAPS and the KDC only) on a loopback address
// of its own, stopped when the test ends.
type sambaDC struct {
	dir, conf, ip, realm, base, adminPW string
	tls                                 *tls.Config
	krb5                                string // a krb5.conf naming only this KDC
}

// needSamba skips without root or Debian's samba-ad-dc and krb5-user, and
// fails in CI, which installs them (.ci/run).
func needSamba(t *testing.T) {
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

func run(t *testing.T, name string, args ...string) string {
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
func loopbackAddress(t *testing.T) string {
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
		run(t, "ip", "addr", "add", ip+"/32", "dev", "lo")
		t.Cleanup(func() { exec.Command("ip", "addr", "del", ip+"/32", "dev", "lo").Run() })
		return ip
	}
	t.Fatal("no free loopback address")
	return ""
}

// startSamba provisions a domain and serves it; it stops at the test's end.
func startSamba(t *testing.T) *sambaDC {
	t.Helper()
	needSamba(t)
	dc := &sambaDC{dir: t.TempDir(), realm: "KEYSTAGE.TEST", base: "DC=keystage,DC=test", adminPW: "Adm1n-Pass-xyz!"}
	dc.ip = loopbackAddress(t)
	began := time.Now()
	run(t, "samba-tool", "domain", "provision", "--realm", dc.realm, "--domain", "KEYSTAGE", "--adminpass", dc.adminPW,
		"--targetdir", dc.dir, "--server-role", "dc", "--dns-backend", "NONE", "--host-name", "ksdc", "--host-ip", dc.ip)
	t.Logf("samba-tool domain provision took %s", time.Since(began).Round(100*time.Millisecond))
	dc.conf = filepath.Join(dc.dir, "etc", "smb.conf")
	conf, err := os.ReadFile(dc.conf)
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
			kept = append(kept, "\tserver services = ldap, kdc", "\tinterfaces = "+dc.ip, "\tbind interfaces only = yes",
				"\tpid directory = "+filepath.Join(dc.dir, "run"), "\tlog file = "+filepath.Join(dc.dir, "log.%m"), "\tdisable netbios = yes")
		}
	}
	certPEM, keyPEM, err := pki.SelfSignedPEM("ksdc.keystage.test", "Keystage test domain", []string{dc.ip, "ksdc.keystage.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dc.dir, "dc-cert.pem"), filepath.Join(dc.dir, "dc-key.pem")
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
		if err := os.MkdirAll(filepath.Join(dc.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(dc.conf, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	samba := exec.Command("samba", "-i", "-M", "single", "-s", dc.conf, "--debug-stdout", "-d", "1")
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
		c, err := net.DialTimeout("tcp", net.JoinHostPort(dc.ip, "636"), time.Second)
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
	dc.tls = &tls.Config{RootCAs: pool, ServerName: dc.ip, MinVersion: tls.VersionTLS12}
	dc.krb5 = filepath.Join(dc.dir, "krb5.conf")
	if err := os.WriteFile(dc.krb5, []byte(fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false
[realms]
	%[1]s = {
		kdc = %[2]s
	}
`, dc.realm, dc.ip)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("samba serving on %s after %s", dc.ip, time.Since(began).Round(100*time.Millisecond))
	return dc
}

func (dc *sambaDC) url() string { return "ldaps://" + dc.ip }

// admin binds as the domain's Administrator, for the test's own changes.
func (dc *sambaDC) admin(t *testing.T) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(dc.url(), ldap.DialWithTLSConfig(dc.tls))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind("Administrator@"+strings.ToLower(dc.realm), dc.adminPW); err != nil {
		t.Fatal(err)
	}
	return c
}

// config is Keystage's configuration for the domain, binding as the
// Administrator (a school would delegate rights over the OU instead).
func (dc *sambaDC) config() ad.Config {
	return ad.Config{URL: dc.url(), TLS: dc.tls, BindDN: "CN=Administrator,CN=Users," + dc.base, BindPassword: dc.adminPW,
		BaseDN: dc.base, OU: "OU=Keystage," + dc.base, Protected: []string{"svc-backup"}}
}

// kinit asks the domain's KDC for a ticket as user with password; it
// reports whether it got one, and what kinit said.
func (dc *sambaDC) kinit(t *testing.T, user, password string) (bool, string) {
	t.Helper()
	cmd := exec.Command("kinit", user+"@"+dc.realm)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+dc.krb5, "KRB5CCNAME=FILE:"+filepath.Join(dc.dir, "ccache-"+user), "LANG=C")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.CombinedOutput()
	return err == nil, strings.TrimSpace(string(out))
}

// userShow is samba-tool user show, as a map of attribute to values.
func (dc *sambaDC) userShow(t *testing.T, user string) map[string][]string {
	t.Helper()
	out := run(t, "samba-tool", "user", "show", user, "-s", dc.conf)
	m := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			m[k] = append(m[k], v)
		}
	}
	return m
}
