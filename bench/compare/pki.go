package main

import (
	"os"
	"path/filepath"
	"time"

	"keystage.dev/keystage/pki"
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
	now := time.Now()
	caKey, err := pki.NewKey(keyType)
	if err != nil {
		return f, err
	}
	ca, err := pki.NewCA(pki.Spec{CommonName: "Keystage bench CA", Key: caKey,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)})
	if err != nil {
		return f, err
	}
	key, err := pki.NewKey(keyType)
	if err != nil {
		return f, err
	}
	server, err := ca.Issue(pki.Spec{CommonName: eapServerName, Hosts: []string{eapServerName}, Key: key,
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)})
	if err != nil {
		return f, err
	}
	keyPEM, err := server.KeyPEM()
	if err != nil {
		return f, err
	}
	for path, data := range map[string][]byte{f.CA: ca.CertPEM(), f.Cert: server.CertPEM(), f.Key: keyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return f, err
		}
	}
	return f, nil
}
