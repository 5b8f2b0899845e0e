package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/ldapserver"
	"keystage.dev/keystage/pki"
	"keystage.dev/keystage/private"
)

// LDAPConfig is the LDAP frontend: the server's settings, where it listens
// and its certificate.
type LDAPConfig struct {
	// Server is the LDAP server's settings; its TLS is set from CertFile
	// and KeyFile.
	Server ldapserver.Config
	// Listen is the plain LDAP address (StartTLS upgrades it); LDAPS the
	// LDAP-over-TLS address (empty, or without a certificate: none).
	Listen, LDAPS string
	// CertFile and KeyFile are the TLS certificate and key (PEM) for
	// StartTLS and LDAPS; empty: no TLS.
	CertFile, KeyFile string
	// SelfSigned makes a certificate at CertFile and KeyFile when they
	// are missing: for the demo and trials, never for production.
	SelfSigned bool
}

// LDAP makes the LDAP frontend over d. Its listeners are open when it
// returns: Addrs holds "ldap://host:port" and, with LDAPS, then
// "ldaps://host:port".
func LDAP(d *directory.Directory, c LDAPConfig) (*Frontend, error) {
	var tlsCfg *tls.Config
	if c.CertFile != "" {
		if c.SelfSigned {
			if err := ensureSelfSigned(c.CertFile, c.KeyFile, d); err != nil {
				return nil, err
			}
		}
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("ldap certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	scfg := c.Server
	scfg.TLS = tlsCfg
	srv, err := ldapserver.New(d.Store(), d, scfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, fmt.Errorf("ldap listen: %w", err)
	}
	lns := []net.Listener{ln}
	addrs := []string{"ldap://" + ln.Addr().String()}
	var tln net.Listener
	if c.LDAPS != "" && tlsCfg != nil {
		if tln, err = net.Listen("tcp", c.LDAPS); err != nil {
			ln.Close()
			return nil, fmt.Errorf("ldaps listen: %w", err)
		}
		lns = append(lns, tln)
		addrs = append(addrs, "ldaps://"+tln.Addr().String())
	}
	return &Frontend{
		Name:  "ldap",
		Addrs: addrs,
		Close: func() error {
			for _, l := range lns {
				l.Close()
			}
			return nil
		},
		Serve: func(ctx context.Context) error { return srv.ServeBoth(ctx, ln, tln) },
	}, nil
}

// ensureSelfSigned writes a self-signed certificate and key when the files
// are missing.
func ensureSelfSigned(certFile, keyFile string, d *directory.Directory) error {
	if _, err := os.Stat(certFile); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ldap certificate: %w", err)
	}
	certPEM, keyPEM, err := pki.SelfSignedPEM("Keystage LDAP (self-signed)", "", []string{"127.0.0.1", "::1", "localhost"}, d.Now())
	if err != nil {
		return err
	}
	if err := private.WriteFile(keyFile, keyPEM); err != nil {
		return fmt.Errorf("ldap key: %w", err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return fmt.Errorf("ldap certificate: %w", err)
	}
	return nil
}
