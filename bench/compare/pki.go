package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// eapServerName is the DNS name in the EAP server certificate, what a
// phone is told to expect.
const eapServerName = "radius.school.example"

// pkiFiles are the CA and the EAP server certificate that both RADIUS
// servers present, so that the handshakes cost them the same.
type pkiFiles struct{ CA, Cert, Key string }

func pkiIn(dir string) pkiFiles {
	return pkiFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "server.pem"), Key: filepath.Join(dir, "server-key.pem")}
}

// makePKI writes a throw-away CA and a server certificate signed by it,
// with an RSA-2048 key (what most schools' certificates have) or ECDSA
// P-256.
func makePKI(dir, keyType string) (pkiFiles, error) {
	f := pkiIn(dir)
	newKey := func() (crypto.Signer, error) {
		switch keyType {
		case "rsa":
			return rsa.GenerateKey(rand.Reader, 2048)
		case "ecdsa":
			return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}
		return nil, fmt.Errorf("key type %q: use rsa or ecdsa", keyType)
	}
	caKey, err := newKey()
	if err != nil {
		return f, err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Keystage bench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		return f, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return f, err
	}
	key, err := newKey()
	if err != nil {
		return f, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: eapServerName}, DNSNames: []string{eapServerName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, key.Public(), caKey)
	if err != nil {
		return f, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return f, err
	}
	for path, block := range map[string]*pem.Block{
		f.CA:   {Type: "CERTIFICATE", Bytes: caDER},
		f.Cert: {Type: "CERTIFICATE", Bytes: der},
		f.Key:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			return f, err
		}
	}
	return f, nil
}
