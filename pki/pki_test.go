package pki

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

var now = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

func TestSelfSignedIsItsOwnRoot(t *testing.T) {
	certPEM, keyPEM, err := SelfSignedPEM("Keystage LDAP (self-signed)", "", []string{"localhost", "127.0.0.1", "::1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("certificate and key do not pair: %v", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: now}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "other.example", CurrentTime: now}); err == nil {
		t.Error("verified for a host it does not name")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: now.AddDate(1, 0, 1)}); err == nil {
		t.Error("still valid after a year")
	}
	if cert.Subject.CommonName != "Keystage LDAP (self-signed)" {
		t.Errorf("common name %q", cert.Subject.CommonName)
	}
}

func TestCAIssuesServerCertificate(t *testing.T) {
	for _, kind := range []string{"ecdsa", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			ca, err := NewCA(Spec{CommonName: "Test CA", Organization: "Test Academy", NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			key, err := NewKey(kind)
			if err != nil {
				t.Fatal(err)
			}
			server, err := ca.Issue(Spec{CommonName: "radius.example", Hosts: []string{"radius.example"}, Key: key,
				NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(ca.Cert)
			if _, err := server.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "radius.example", CurrentTime: now}); err != nil {
				t.Fatal(err)
			}
			if server.Cert.IsCA {
				t.Error("the server certificate may sign others")
			}
			if _, err := ca.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: now}); err != nil {
				t.Errorf("CA: %v", err)
			}
			wantEncipher := kind == "rsa"
			if got := server.Cert.KeyUsage&x509.KeyUsageKeyEncipherment != 0; got != wantEncipher {
				t.Errorf("key encipherment = %v, want %v", got, wantEncipher)
			}
			keyPEM, err := server.KeyPEM()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tls.X509KeyPair(server.CertPEM(), keyPEM); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := NewKey("dsa"); err == nil {
		t.Error("made a key of an unknown kind")
	}
}

// A CA read back from its files issues as the one made; a key that is not
// the certificate's, or no key, is refused.
func TestLoad(t *testing.T) {
	now := time.Now()
	ca, err := NewCA(Spec{CommonName: "CA", NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Load(ca.CertPEM(), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := back.Issue(Spec{CommonName: "radius.school.example", Hosts: []string{"radius.school.example"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("issued by the loaded CA, not signed by the CA: %v", err)
	}
	other, err := NewCA(Spec{CommonName: "other", NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := other.KeyPEM()
	if _, err := Load(ca.CertPEM(), otherKey); err == nil {
		t.Error("a key that is not the certificate's was taken")
	}
	if _, err := Load(ca.CertPEM(), ca.CertPEM()); err == nil {
		t.Error("a certificate was taken for a key")
	}
	if _, err := Load(nil, keyPEM); err == nil {
		t.Error("no certificate was taken")
	}
}
