package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keystage cert radius makes the Wi-Fi's own CA and an ECDSA P-256 server
// certificate for the name people type; a device that trusts that CA and
// checks that name (as Android does) completes a TLS 1.2 handshake with it,
// as PEAP and TTLS make one; --renew issues a new key from the same CA,
// and nothing is overwritten without it.
func TestCertRADIUS(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := keystage(t, "", "cert", "radius", "--name", "radius.school.example", "--dir", dir, "--org", "Hill School")
	if code != 0 {
		t.Fatalf("cert radius: %d %s", code, errOut)
	}
	f := radiusPKIIn(dir)
	for _, want := range []string{"made a new CA", f.caCert, "ECDSA P-256", `cert_file = "` + f.cert + `"`, "domain radius.school.example"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	for path, mode := range map[string]os.FileMode{f.caKey: 0o600, f.key: 0o600, f.caCert: 0o644, f.cert: 0o644} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), st.Mode().Perm(), mode)
		}
	}
	leaf := certsIn(t, f.cert)
	if len(leaf) != 2 {
		t.Fatalf("%s holds %d certificates, want the server's and the CA's", f.cert, len(leaf))
	}
	if _, ok := leaf[0].PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("server key is %T, want ECDSA", leaf[0].PublicKey)
	}
	if leaf[1].Subject.CommonName != "Hill School Wi-Fi CA" {
		t.Errorf("CA subject %q", leaf[1].Subject.CommonName)
	}
	handshake(t, f, "radius.school.example")
	// A device that checks another domain refuses it.
	if err := tryHandshake(f, "wifi.other.example"); err == nil {
		t.Error("a handshake checking another name succeeded")
	}

	code, _, errOut = keystage(t, "", "cert", "radius", "--name", "radius.school.example", "--dir", dir)
	if code != 1 || !strings.Contains(errOut, "--renew") {
		t.Fatalf("second run without --renew: %d %s", code, errOut)
	}
	caBefore, _ := os.ReadFile(f.caCert)
	code, out, errOut = keystage(t, "", "cert", "radius", "--name", "radius.school.example", "--dir", dir, "--renew", "--key", "rsa")
	if code != 0 || !strings.Contains(out, "devices that trust it need nothing new") || !strings.Contains(out, "RSA 2048") {
		t.Fatalf("--renew: %d %s %s", code, out, errOut)
	}
	if caAfter, _ := os.ReadFile(f.caCert); !bytes.Equal(caBefore, caAfter) {
		t.Error("--renew changed the CA: every device would have to trust it again")
	}
	renewed := certsIn(t, f.cert)
	if renewed[0].SerialNumber.Cmp(leaf[0].SerialNumber) == 0 {
		t.Error("--renew kept the old certificate")
	}
	rk, ok := renewed[0].PublicKey.(*rsa.PublicKey)
	if !ok || rk.N.BitLen() != 2048 || renewed[0].KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		t.Errorf("--key rsa: %T, usage %v", renewed[0].PublicKey, renewed[0].KeyUsage)
	}
	handshake(t, f, "radius.school.example")

	// A CA key without its certificate is not taken for no CA.
	os.Remove(f.caCert)
	if code, _, errOut := keystage(t, "", "cert", "radius", "--name", "radius.school.example", "--dir", dir, "--renew"); code != 1 || !strings.Contains(errOut, "RADIUS CA certificate") {
		t.Errorf("CA key without its certificate: %d %s", code, errOut)
	}
}

func TestCertRADIUSRefusesBadArguments(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"cert", "radius"},
		{"cert", "radius", "--name", "radius"},
		{"cert", "radius", "--name", "10.0.0.1"},
		{"cert", "radius", "--name", "radius .school.example"},
		{"cert", "radius", "--name", "-radius.school.example"},
		{"cert", "radius", "--name", "radius.school.example", "--key", "dsa"},
		{"cert", "radius", "--name", "radius.school.example", "--years", "0"},
		{"cert", "ldap", "--name", "radius.school.example"},
	} {
		if code, _, _ := keystage(t, "", append(args, "--dir", dir)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a refused command wrote %d files", len(ents))
	}
}

func certsIn(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

func handshake(t *testing.T, f radiusPKIFiles, name string) {
	t.Helper()
	if err := tryHandshake(f, name); err != nil {
		t.Fatalf("TLS 1.2 handshake checking the CA and %s: %v", name, err)
	}
}

// tryHandshake is a device's side: it trusts only the CA file and checks
// the name, over TLS 1.2 with ECDHE, as PEAP and TTLS do.
func tryHandshake(f radiusPKIFiles, name string) error {
	pair, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(f.caCert)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	srv := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{pair}, MaxVersion: tls.VersionTLS12})
	done := make(chan error, 1)
	go func() { done <- srv.Handshake() }()
	cli := tls.Client(c, &tls.Config{RootCAs: roots, ServerName: name, MaxVersion: tls.VersionTLS12})
	err = cli.Handshake()
	c.Close()
	<-done
	return err
}
