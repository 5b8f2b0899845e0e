package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"keystage.dev/keystage/directory"
	ldapserver "keystage.dev/keystage/ldapserver"
	"keystage.dev/keystage/pki"
	"keystage.dev/keystage/private"
	"keystage.dev/keystage/server"
)

// buildLDAP makes the LDAP frontend when the configuration enables it.
func buildLDAP(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	c := cfg.LDAP
	if !c.Enabled {
		return nil, nil
	}
	var tlsCfg *tls.Config
	if c.CertFile != "" {
		if c.SelfSigned {
			if err := ensureSelfSigned(c.CertFile, c.KeyFile, d.Now()); err != nil {
				return nil, err
			}
		}
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("ldap certificate: %w", err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	grants := map[string]ldapserver.Grant{}
	for n, g := range c.Grants {
		gr, err := ldapserver.ParseGrant(g)
		if err != nil {
			return nil, fmt.Errorf("ldap.grants.%s: %w", n, err)
		}
		grants[n] = gr
	}
	exempt, err := c.lockoutExempt()
	if err != nil {
		return nil, fmt.Errorf("ldap.lockout_exempt: %w", err)
	}
	var bound func(context.Context, directory.Account, string)
	if e.webfilter != nil {
		bound = e.webfilter.Bound
	}
	srv, err := ldapserver.New(d.Store(), d, ldapserver.Config{LockoutExempt: exempt, Bound: bound,
		BaseDN: c.BaseDN, Domain: c.Domain, TLS: tlsCfg, Grants: grants,
		AllowCleartextBinds: c.AllowCleartextBinds, MaxTime: c.RequestTimeout.Duration,
		MaxConns: c.MaxConnections, MaxConnsPerAddr: c.MaxConnectionsPerAddress,
		FrameTimeout: c.FrameTimeout.Duration, BindTimeout: c.BindTimeout.Duration,
		MaxMessage: c.MaxRequestBytes, MaxFilterTerms: c.MaxFilterTerms,
		MaxSearches: c.MaxSearches, MaxSearchesPerAddr: c.MaxSearchesPerAddress,
		Log: e.logger().With("frontend", "ldap"),
	})
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
	f := &server.Frontend{
		Name:  "ldap",
		Addrs: addrs,
		Hints: ldapHints(e, d, c, ln.Addr().String(), tln),
		Setup: nslcdSetup(c, ln.Addr().String()),
		Close: func() error {
			for _, l := range lns {
				l.Close()
			}
			return nil
		},
		Serve: func(ctx context.Context) error { return srv.ServeBoth(ctx, ln, tln) },
	}
	return f, nil
}

// ensureSelfSigned writes a self-signed certificate and key when the files
// are missing.
func ensureSelfSigned(certFile, keyFile string, now time.Time) error {
	if _, err := os.Stat(certFile); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ldap certificate: %w", err)
	}
	certPEM, keyPEM, err := pki.SelfSignedPEM("Keystage LDAP (self-signed)", "", []string{"127.0.0.1", "::1", "localhost"}, now)
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

// demoPublicCert is where the demo's nslcd hint copies the LDAP
// certificate: a folder every user can read.
const demoPublicCert = "/etc/ssl/certs/keystage-demo-ldap.pem"

// ldapHints are the demo's commands that work against this server.
func ldapHints(e *env, d *directory.Directory, c LDAPSection, addr string, tln net.Listener) []string {
	teacher, pupil := demoNames(e.ctx, d.Store())
	url := "ldap://" + addr
	hints := []string{
		fmt.Sprintf("ldapwhoami -x -H %s -D uid=%s,ou=people,%s -w '%s'", url, teacher, c.BaseDN, demoStaffPassword),
	}
	if tln != nil {
		hints = append(hints, fmt.Sprintf("LDAPTLS_CACERT=%s ldapwhoami -x -H ldaps://%s -D %s@%s -w '%s'", c.CertFile, tln.Addr(), pupil, c.Domain, demoPupilPassword))
	}
	if _, ok := c.Grants[demoLDAPService]; ok {
		hints = append(hints, fmt.Sprintf("LDAPTLS_CACERT=%s ldapsearch -x -ZZ -H %s -D uid=%s,ou=services,%s -w '%s' -b %s '(uid=%s)'",
			c.CertFile, url, demoLDAPService, c.BaseDN, demoLDAPServicePassword, c.BaseDN, pupil))
	}
	return hints
}

// nslcdSetup is how to point this machine's nslcd at the demo: nslcd runs
// as a user of its own, which cannot read the demo's folder (0700: it
// holds the database and the keys), so the certificate it checks the
// server with is copied out first. Steps, not commands to run as they
// stand: the demo prints them after its hints.
func nslcdSetup(c LDAPSection, addr string) []string {
	if _, ok := c.Grants[demoLDAPService]; !ok {
		return nil
	}
	return []string{
		fmt.Sprintf("nslcd on this machine runs as its own user, which cannot read %s: copy the certificate out first,", filepath.Dir(c.CertFile)),
		fmt.Sprintf("  sudo install -m 0644 %s %s", c.CertFile, demoPublicCert),
		fmt.Sprintf("  then set in /etc/nslcd.conf: uri ldap://%s | base %s | binddn uid=%s,ou=services,%s | bindpw %s | ssl start_tls | tls_cacertfile %s",
			addr, c.BaseDN, demoLDAPService, c.BaseDN, demoLDAPServicePassword, demoPublicCert),
	}
}
