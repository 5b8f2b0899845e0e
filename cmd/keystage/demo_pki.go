package main

import (
	"errors"
	"fmt"
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
	demoCAKey      = "demo-ca-key.pem"
	demoRADIUSCert = "radius-cert.pem"
	demoRADIUSKey  = "radius-key.pem"
)

// demoPKI makes (once) a demo CA and a RADIUS server certificate signed by
// it in dir, and returns the paths of the CA, the certificate and its key.
// A school makes its own the same way (keystage cert radius); this is for trying
// eapol_test and phones against the demo.
func demoPKI(dir string) (caFile, certFile, keyFile string, err error) {
	f := radiusPKIFiles{caCert: filepath.Join(dir, demoCA), caKey: filepath.Join(dir, demoCAKey),
		cert: filepath.Join(dir, demoRADIUSCert), key: filepath.Join(dir, demoRADIUSKey)}
	if _, err := os.Stat(f.key); err == nil {
		return f.caCert, f.cert, f.key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", "", err
	}
	// What keystage cert radius makes for a school, for the demo's name.
	if _, err := makeRADIUSPKI(f, radiusCertSpec{name: demoRADIUSName, org: "Keystage Demo Academy", keyKind: "ecdsa", years: 2, now: time.Now()}); err != nil {
		return "", "", "", fmt.Errorf("demo RADIUS certificate: %w", err)
	}
	return f.caCert, f.cert, f.key, nil
}
