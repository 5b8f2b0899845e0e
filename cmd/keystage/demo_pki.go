package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"keystage.dev/keystage/pki"
	"keystage.dev/keystage/private"
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
	now := time.Now()
	ca, err := pki.NewCA(pki.Spec{CommonName: "Keystage Demo CA", Organization: "Keystage Demo Academy",
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0)})
	if err != nil {
		return "", "", "", err
	}
	server, err := ca.Issue(pki.Spec{CommonName: demoRADIUSName, Hosts: []string{demoRADIUSName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0)})
	if err != nil {
		return "", "", "", err
	}
	keyPEM, err := server.KeyPEM()
	if err != nil {
		return "", "", "", err
	}
	// The chain goes with the certificate, as the eap engine sends it.
	chain := append(server.CertPEM(), ca.CertPEM()...)
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o644); err != nil {
		return "", "", "", err
	}
	if err := os.WriteFile(certFile, chain, 0o644); err != nil {
		return "", "", "", err
	}
	if err := private.WriteFile(keyFile, keyPEM); err != nil {
		return "", "", "", fmt.Errorf("demo RADIUS key: %w", err)
	}
	return caFile, certFile, keyFile, nil
}
