// Package siemtest runs Debian's rsyslogd as a collector receiving RFC 5425
// syslog over TLS on a free loopback port, for tests of what Keystage
// sends it. It is for tests only.
package siemtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rsyslog is a running collector.
type Rsyslog struct {
	Addr   string // 127.0.0.1:port, TLS
	CAFile string // the CA that signed its certificate
	Out    string // the file it writes each message to, one line each
	// ClientCert and ClientKey are a client certificate the same CA
	// signed, which a collector started with StartMutual requires.
	ClientCert, ClientKey string
	cmd                   *exec.Cmd
	conf                  string
	dir                   string
}

// Start runs rsyslogd with its own configuration in a temporary directory;
// it is stopped when the test ends. Without rsyslogd (and rsyslog-gnutls)
// the test is skipped, unless CI is set, where it fails. It accepts any
// client (authMode "anon").
func Start(t testing.TB) *Rsyslog { t.Helper(); return start(t, "anon") }

// StartMutual is Start with a collector that accepts only clients with a
// certificate its CA signed (authMode "x509/certvalid").
func StartMutual(t testing.TB) *Rsyslog { t.Helper(); return start(t, "x509/certvalid") }

func start(t testing.TB, authMode string) *Rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/rsyslogd", "/sbin/rsyslogd"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); err == nil && len(m) == 0 {
		err = fmt.Errorf("rsyslog-gnutls is not installed")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("rsyslogd with TLS is needed (apt-get install rsyslog rsyslog-gnutls): %v", err)
		}
		t.Skipf("rsyslogd with TLS not available: %v", err)
	}
	dir := t.TempDir()
	r := &Rsyslog{dir: dir, Out: filepath.Join(dir, "received.log"), CAFile: filepath.Join(dir, "ca.pem"), conf: filepath.Join(dir, "rsyslog.conf"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client.key")}
	writePKI(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Addr = ln.Addr().String()
	_, port, _ := net.SplitHostPort(r.Addr)
	ln.Close()
	conf := fmt.Sprintf(`global(workDirectory=%[1]q maxMessageSize="64k"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile=%[2]q
  defaultNetstreamDriverCertFile=%[3]q
  defaultNetstreamDriverKeyFile=%[4]q)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode=%[7]q)
input(type="imtcp" port=%[5]q address="127.0.0.1")
template(name="line" type="string" string="%%timereported:::date-rfc3339%% %%hostname%% %%app-name%% %%msgid%% %%msg%%\n")
action(type="omfile" file=%[6]q template="line" fileCreateMode="0600")
`, dir, r.CAFile, filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), port, r.Out, authMode)
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.start(t, bin)
	return r
}

func (r *Rsyslog) start(t testing.TB, bin string) {
	t.Helper()
	cmd := exec.Command(bin, "-n", "-f", r.conf, "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	logf, err := os.Create(filepath.Join(r.dir, "rsyslogd.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.cmd = cmd
	t.Cleanup(func() { r.Stop(); logf.Close() })
	// Wait until it listens; the bound is for a broken setup only.
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(r.dir, "rsyslogd.out"))
			t.Fatalf("rsyslogd never listened on %s: %v\n%s", r.Addr, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops rsyslogd (idempotent): it writes out what it has first.
func (r *Rsyslog) Stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
	r.cmd = nil
}

// Restart stops rsyslogd and starts it again on the same port.
func (r *Rsyslog) Restart(t testing.TB) {
	t.Helper()
	bin := r.cmd.Path
	r.Stop()
	r.start(t, bin)
}

// WaitFor waits until the received file has a line containing each of
// subs, and returns the file; the bound is for a broken test only.
func (r *Rsyslog) WaitFor(t testing.TB, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(r.Out)
		missing := ""
		for _, s := range subs {
			if !strings.Contains(string(b), s) {
				missing = s
				break
			}
		}
		if missing == "" {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd never received %q; it has:\n%s", missing, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writePKI makes a CA and a certificate for 127.0.0.1 signed by it.
func writePKI(t testing.TB, dir string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "siemtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", der)
	write("server.key", "EC PRIVATE KEY", keyDER)
	ckey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "keystage1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"keystage1"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	cder, err := x509.CreateCertificate(rand.Reader, ctmpl, ca, &ckey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ckeyDER, err := x509.MarshalECPrivateKey(ckey)
	if err != nil {
		t.Fatal(err)
	}
	write("client.pem", "CERTIFICATE", cder)
	write("client.key", "EC PRIVATE KEY", ckeyDER)
}
