package main

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"keystage.dev/keystage/pki"
	"keystage.dev/keystage/private"
)

func cmdCert(e *env, args []string) error {
	return dispatch(e, "cert", "cert radius --name DOMAIN [--key ecdsa|rsa] [--dir DIR] [--renew]", args,
		sub{"radius", cmdCertRADIUS})
}

// radiusPKIFiles are the files of the RADIUS server's own CA and of the
// server certificate it issues: what phones, laptops and Chromebooks are
// told to trust, and what [radius.eap] serves.
type radiusPKIFiles struct {
	caCert, caKey, cert, key string
}

// radiusPKIIn names them in dir as keystage cert radius writes them; the
// certificate and key are the example configuration's.
func radiusPKIIn(dir string) radiusPKIFiles {
	return radiusPKIFiles{
		caCert: filepath.Join(dir, "radius-ca.crt"),
		caKey:  filepath.Join(dir, "radius-ca.key"),
		cert:   filepath.Join(dir, "radius.crt"),
		key:    filepath.Join(dir, "radius.key"),
	}
}

// radiusCertSpec is what a RADIUS server certificate is made for.
type radiusCertSpec struct {
	name    string // the DNS name people type as the Wi-Fi "domain"
	org     string // the school's or trust's name, in the CA's subject
	keyKind string // "ecdsa" (P-256) or "rsa" (2048)
	years   int    // the server certificate's life
	now     time.Time
}

// radiusCALife is the life of a new RADIUS CA. Devices trust the CA, not
// the server certificate, so the CA outlives many server certificates and
// a renewal asks nobody to trust anything again.
const radiusCALife = 20

// makeRADIUSPKI issues a server certificate for s.name from the CA in f,
// making the CA first when there is none. It says whether it made one.
// Keys are written 0600, certificates 0644; the certificate file holds the
// chain (server, then CA), as the EAP engine sends it.
func makeRADIUSPKI(f radiusPKIFiles, s radiusCertSpec) (newCA bool, err error) {
	ca, err := loadRADIUSCA(f)
	switch {
	case errors.Is(err, errNoRADIUSCA):
		key, err := pki.NewKey(s.keyKind)
		if err != nil {
			return false, err
		}
		cn := "Wi-Fi CA"
		if s.org != "" {
			cn = s.org + " Wi-Fi CA"
		}
		ca, err = pki.NewCA(pki.Spec{CommonName: cn, Organization: s.org, Key: key,
			NotBefore: s.now.Add(-time.Hour), NotAfter: s.now.AddDate(radiusCALife, 0, 0)})
		if err != nil {
			return false, err
		}
		keyPEM, err := ca.KeyPEM()
		if err != nil {
			return false, err
		}
		if err := private.WriteFile(f.caKey, keyPEM); err != nil {
			return false, fmt.Errorf("RADIUS CA key: %w", err)
		}
		if err := os.WriteFile(f.caCert, ca.CertPEM(), 0o644); err != nil {
			return false, err
		}
		newCA = true
	case err != nil:
		return false, err
	}
	notAfter := s.now.AddDate(s.years, 0, 0)
	if ca.Cert.NotAfter.Before(notAfter) {
		return false, fmt.Errorf("the RADIUS CA in %s ends on %s, before a certificate for %d years would: make a new CA (move %s and %s away; every device must then trust the new one)",
			f.caCert, ca.Cert.NotAfter.Format(time.DateOnly), s.years, f.caCert, f.caKey)
	}
	key, err := pki.NewKey(s.keyKind)
	if err != nil {
		return false, err
	}
	server, err := ca.Issue(pki.Spec{CommonName: s.name, Hosts: []string{s.name}, Organization: s.org, Key: key,
		NotBefore: s.now.Add(-time.Hour), NotAfter: notAfter})
	if err != nil {
		return false, err
	}
	keyPEM, err := server.KeyPEM()
	if err != nil {
		return false, err
	}
	// Each file is replaced whole (a server reading it sees the old or the
	// new); config check tells a key that is not its certificate's.
	if err := private.Replace(f.key, keyPEM); err != nil {
		return false, fmt.Errorf("RADIUS key: %w", err)
	}
	// Replaced whole as a key is, then opened to readers: a certificate
	// is public.
	chain := append(server.CertPEM(), ca.CertPEM()...)
	if err := private.Replace(f.cert, chain); err != nil {
		return false, err
	}
	if err := os.Chmod(f.cert, 0o644); err != nil {
		return false, err
	}
	return newCA, nil
}

// errNoRADIUSCA is loadRADIUSCA's answer when there is no CA yet.
var errNoRADIUSCA = errors.New("no RADIUS CA")

// loadRADIUSCA reads the CA back; errNoRADIUSCA when neither file is
// there. One without the other is an error: a CA key alone cannot be
// shown to devices, and a CA certificate alone cannot issue.
func loadRADIUSCA(f radiusPKIFiles) (pki.Cert, error) {
	certPEM, cerr := os.ReadFile(f.caCert)
	keyPEM, kerr := os.ReadFile(f.caKey)
	switch {
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
		return pki.Cert{}, errNoRADIUSCA
	case cerr != nil:
		return pki.Cert{}, fmt.Errorf("RADIUS CA certificate: %w", cerr)
	case kerr != nil:
		return pki.Cert{}, fmt.Errorf("RADIUS CA key (the certificate %s is there): %w", f.caCert, kerr)
	}
	ca, err := pki.Load(certPEM, keyPEM)
	if err != nil {
		return pki.Cert{}, fmt.Errorf("RADIUS CA %s and %s: %w", f.caCert, f.caKey, err)
	}
	if !ca.Cert.IsCA {
		return pki.Cert{}, fmt.Errorf("RADIUS CA %s is not a CA certificate", f.caCert)
	}
	return ca, nil
}

// validDNSName checks the name people will type as the Wi-Fi domain: a
// DNS name of at least two labels, as Android's "Domain" field wants.
func validDNSName(name string) error {
	if len(name) > 253 || !strings.Contains(name, ".") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		return fmt.Errorf("%q: want a DNS name such as radius.school.example", name)
	}
	labels := strings.Split(name, ".")
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return fmt.Errorf("%q: want a DNS name such as radius.school.example, not an address", name)
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q: label %q is not a DNS label", name, label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("%q: %q is not allowed in a DNS name", name, r)
			}
		}
	}
	return nil
}

func cmdCertRADIUS(e *env, args []string) error {
	fs := e.newFlags("cert radius", "--name DOMAIN [--key ecdsa|rsa] [--dir DIR] [--renew]")
	name := fs.String("name", "", "the server's DNS `name`, which people type as the Wi-Fi \"domain\" (radius.school.example)")
	keyKind := fs.String("key", "ecdsa", "key type: ecdsa (P-256: cheaper handshakes) or rsa (2048, for devices that refuse ECDSA)")
	dir := fs.String("dir", "/etc/keystage", "`directory` for radius-ca.crt, radius-ca.key, radius.crt and radius.key")
	org := fs.String("org", "", "the school's or trust's `name`, shown in the CA's subject (default: the configuration's school)")
	years := fs.Int("years", 2, "the server certificate's life in `years` (the CA's is 20)")
	renew := fs.Bool("renew", false, "replace radius.crt and radius.key (a new key, from the same CA: devices need nothing new)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *name == "" {
		return usagef("want --name DOMAIN")
	}
	if err := validDNSName(*name); err != nil {
		return usagef("--name %v", err)
	}
	if *keyKind != "ecdsa" && *keyKind != "rsa" {
		return usagef("--key %q: want ecdsa or rsa", *keyKind)
	}
	if *years < 1 || *years > 10 {
		return usagef("--years %d: want 1 to 10", *years)
	}
	if *org == "" {
		if cfg, err := e.config(); err == nil {
			*org = cfg.School
		}
	}
	f := radiusPKIIn(*dir)
	if !*renew {
		for _, p := range []string{f.cert, f.key} {
			if _, err := os.Stat(p); err == nil {
				return fmt.Errorf("%s is there already: --renew replaces the certificate and its key (the CA stays, so devices need nothing new)", p)
			}
		}
	}
	newCA, err := makeRADIUSPKI(f, radiusCertSpec{name: *name, org: *org, keyKind: *keyKind, years: *years, now: time.Now()})
	if err != nil {
		return err
	}
	leaf, err := os.ReadFile(f.cert)
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(f.key)
	if err != nil {
		return err
	}
	c, err := pki.Load(leaf, keyPEM)
	if err != nil {
		return fmt.Errorf("reading back %s: %w", f.cert, err)
	}
	kind := "ECDSA P-256"
	switch k := c.Key.Public().(type) {
	case *rsa.PublicKey:
		kind = fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		kind = "ECDSA " + k.Curve.Params().Name
	}
	w := e.stdout
	if newCA {
		fmt.Fprintf(w, "made a new CA for the Wi-Fi: %s (its key %s, 0600: keep it, and back it up)\n", f.caCert, f.caKey)
	} else {
		fmt.Fprintf(w, "issued from the CA already in %s: devices that trust it need nothing new\n", f.caCert)
	}
	fmt.Fprintf(w, "server certificate %s (%s, for %s, until %s) and its key %s\n",
		f.cert, kind, *name, c.Cert.NotAfter.Format(time.DateOnly), f.key)
	fmt.Fprintf(w, "\nin the configuration:\n\n[radius.eap]\ncert_file = %q\nkey_file = %q\n\n", f.cert, f.key)
	fmt.Fprintf(w, "on each device: CA certificate %s (installed, or trusted on first connection), domain %s\n", filepath.Base(f.caCert), *name)
	return nil
}
