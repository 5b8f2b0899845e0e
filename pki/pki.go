// Package pki makes the certificates Keystage signs itself: the
// self-signed certificate a listener falls back on when none is configured,
// a CA of the RADIUS server's own with its server certificate (keystage
// cert radius: Wi-Fi devices are told to trust that CA and that name, and
// nothing else), and throw-away ones for the demo, tests and benchmarks.
// It keeps no state of its own: what it makes is written to files, and a
// CA read back from them issues the next server certificate. Nothing here
// revokes.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Spec is what a certificate says.
type Spec struct {
	CommonName   string
	Organization string
	// Hosts are the DNS names and IP addresses the certificate is for.
	Hosts     []string
	NotBefore time.Time
	NotAfter  time.Time
	// Key is the certificate's key; nil makes a new ECDSA P-256 key.
	Key crypto.Signer
}

// Cert is a certificate with its key.
type Cert struct {
	DER  []byte
	Cert *x509.Certificate
	Key  crypto.Signer
}

// SelfSigned makes a server certificate that is its own issuer. It may
// sign (it is a CA) so that a client can trust it as its own root.
func SelfSigned(s Spec) (Cert, error) {
	return create(s, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign, true, nil)
}

// NewCA makes a CA that signs server certificates with Issue.
func NewCA(s Spec) (Cert, error) {
	return create(s, x509.KeyUsageCertSign|x509.KeyUsageCRLSign, true, nil)
}

// Issue makes a server certificate signed by the CA ca.
func (ca Cert) Issue(s Spec) (Cert, error) {
	return create(s, x509.KeyUsageDigitalSignature, false, &ca)
}

// SelfSignedPEM makes a self-signed server certificate for hosts, valid
// from an hour before now for a year, and returns it and its key as PEM.
func SelfSignedPEM(commonName, organization string, hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	c, err := SelfSigned(Spec{CommonName: commonName, Organization: organization, Hosts: hosts,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)})
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = c.KeyPEM()
	if err != nil {
		return nil, nil, err
	}
	return c.CertPEM(), keyPEM, nil
}

// Load reads a certificate and its key back from PEM (the key as KeyPEM
// writes it, PKCS #8), checking that they belong together.
func Load(certPEM, keyPEM []byte) (Cert, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return Cert{}, errors.New("no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return Cert{}, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return Cert{}, errors.New("no PKCS #8 PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return Cert{}, err
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return Cert{}, fmt.Errorf("a %T cannot sign", k)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return Cert{}, errors.New("the key is not the certificate's")
	}
	return Cert{DER: cert.Raw, Cert: cert, Key: key}, nil
}

// CertPEM is the certificate as PEM.
func (c Cert) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})
}

// KeyPEM is the key as PKCS #8 PEM.
func (c Cert) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("certificate key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// NewKey makes a key of the kind named: "ecdsa" (P-256) or "rsa" (2048
// bits, what most schools' certificates have).
func NewKey(kind string) (crypto.Signer, error) {
	switch kind {
	case "ecdsa":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("key type %q: use rsa or ecdsa", kind)
}

func create(s Spec, usage x509.KeyUsage, isCA bool, issuer *Cert) (Cert, error) {
	key := s.Key
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return Cert{}, err
		}
		key = k
	}
	if _, ok := key.Public().(*rsa.PublicKey); ok && !isCA {
		usage |= x509.KeyUsageKeyEncipherment // RSA key exchange
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return Cert{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.CommonName},
		NotBefore:             s.NotBefore,
		NotAfter:              s.NotAfter,
		KeyUsage:              usage,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if s.Organization != "" {
		tmpl.Subject.Organization = []string{s.Organization}
	}
	if !isCA || usage&x509.KeyUsageDigitalSignature != 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	for _, h := range s.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.Cert, issuer.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return Cert{}, fmt.Errorf("certificate for %s: %w", s.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Cert{}, err
	}
	return Cert{DER: der, Cert: cert, Key: key}, nil
}
