package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"keystage.dev/keystage/private"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// demoRADIUSName is the DNS name in the demo's RADIUS certificate: what a
// phone is told as the "domain" to check.
const demoRADIUSName = "radius.demo.keystage.test"

// The demo's PKI files in its data directory.
const (
	demoCA         = "demo-ca.pem"
	demoRADIUSCert = "radius-cert.pem"
	demoRADIUSKey  = "radius-key.pem"
)

// demoPKI makes (once) a demo CA and a RADIUS server certificate signed by
// it in dir, and returns the paths of the CA, the certificate and its key.
// A real school uses its own CA or a public one; this is for trying
// eapol_test and phones against the demo.
func demoPKI(dir string) (caFile, certFile, keyFile string, err error) {
	caFile = filepath.Join(dir, demoCA)
	certFile = filepath.Join(dir, demoRADIUSCert)
	keyFile = filepath.Join(dir, demoRADIUSKey)
	if _, err := os.Stat(keyFile); err == nil {
		return caFile, certFile, keyFile, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", "", err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Keystage Demo CA", Organization: []string{"Keystage Demo Academy"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", "", "", err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: demoRADIUSName},
		DNSNames:     []string{demoRADIUSName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return "", "", "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", "", err
	}
	write := func(path, kind string, der []byte, mode os.FileMode) error {
		return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), mode)
	}
	// The chain goes with the certificate, as the eap engine sends it.
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	if err := write(caFile, "CERTIFICATE", caDER, 0o644); err != nil {
		return "", "", "", err
	}
	if err := os.WriteFile(certFile, chain, 0o644); err != nil {
		return "", "", "", err
	}
	if err := private.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return "", "", "", fmt.Errorf("demo RADIUS key: %w", err)
	}
	return caFile, certFile, keyFile, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}
