package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/server"
)

// buildLDAP makes the LDAP frontend when the configuration enables it.
func buildLDAP(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	c := cfg.LDAP
	if !c.Enabled {
		return nil, nil
	}
	var bound func(context.Context, directory.Account, string)
	if e.webfilter != nil {
		bound = e.webfilter.Bound
	}
	lc, err := c.settings(bound, e.logger().With("frontend", "ldap"))
	if err != nil {
		return nil, err
	}
	f, err := server.LDAP(d, lc)
	if err != nil {
		return nil, err
	}
	addr := strings.TrimPrefix(f.Addrs[0], "ldap://")
	var ldaps string
	if len(f.Addrs) > 1 {
		ldaps = strings.TrimPrefix(f.Addrs[1], "ldaps://")
	}
	f.Hints = ldapHints(e, d, c, addr, ldaps)
	f.Setup = nslcdSetup(c, addr)
	return f, nil
}

// demoPublicCert is where the demo's nslcd hint copies the LDAP
// certificate: a folder every user can read.
const demoPublicCert = "/etc/ssl/certs/keystage-demo-ldap.pem"

// ldapHints are the demo's commands that work against this server.
// ldaps is the LDAPS address; empty: none.
func ldapHints(e *env, d *directory.Directory, c LDAPSection, addr, ldaps string) []string {
	teacher, pupil := demoNames(e.ctx, d.Store())
	url := "ldap://" + addr
	hints := []string{
		fmt.Sprintf("ldapwhoami -x -H %s -D uid=%s,ou=people,%s -w '%s'", url, teacher, c.BaseDN, demoStaffPassword),
	}
	if ldaps != "" {
		hints = append(hints, fmt.Sprintf("LDAPTLS_CACERT=%s ldapwhoami -x -H ldaps://%s -D %s@%s -w '%s'", c.CertFile, ldaps, pupil, c.Domain, demoPupilPassword))
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
