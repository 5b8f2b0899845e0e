package eap

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"keystage.dev/keystage/pki"
)

// testServerName is the DNS name in the test server certificate's SAN, the
// name a phone is told to match.
const testServerName = "radius.demo.keystage.test"

// testPKI is a CA and a server certificate it signed.
type testPKI struct {
	caPEM []byte
	pool  *x509.CertPool
	cert  tls.Certificate
}

func newTestPKI(t testing.TB) testPKI { return newTestPKIKey(t, false) }

// newTestPKIKey makes the server key RSA-2048 when withRSA, else ECDSA P-256.
func newTestPKIKey(t testing.TB, withRSA bool) testPKI {
	t.Helper()
	now := time.Now()
	ca, err := pki.NewCA(pki.Spec{CommonName: "Keystage test CA", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	kind := "ecdsa"
	if withRSA {
		kind = "rsa"
	}
	key, err := pki.NewKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Issue(pki.Spec{CommonName: testServerName, Hosts: []string{testServerName}, Key: key,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return testPKI{
		caPEM: ca.CertPEM(),
		pool:  pool,
		cert:  tls.Certificate{Certificate: [][]byte{server.DER}, PrivateKey: server.Key},
	}
}
