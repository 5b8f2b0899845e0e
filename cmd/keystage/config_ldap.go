package main

import (
	"net"
	"net/netip"
	"path/filepath"
	"sort"

	"keystage.dev/keystage/directory"
	ldapserver "keystage.dev/keystage/directory/ldap"
)

// LDAPSection configures the LDAP frontend.
type LDAPSection struct {
	// Enabled starts the frontend in keystage serve.
	Enabled bool `toml:"enabled"`
	// Listen is the plain LDAP address (StartTLS upgrades it).
	Listen string `toml:"listen"`
	// LDAPS is the LDAP-over-TLS address; empty: none.
	LDAPS string `toml:"ldaps"`
	// BaseDN is the suffix served.
	BaseDN string `toml:"base_dn"`
	// Domain lets people bind as NAME@domain.
	Domain string `toml:"domain"`
	// CertFile and KeyFile are the TLS certificate and key (PEM) for
	// StartTLS and LDAPS.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// SelfSigned makes a certificate at CertFile and KeyFile when they
	// are missing: for the demo and trials, never for production.
	SelfSigned bool `toml:"self_signed"`
	// AllowCleartextBinds accepts simple binds without TLS from other
	// hosts. Leave it off: passwords would cross the network in clear.
	AllowCleartextBinds bool `toml:"allow_cleartext_binds"`
	// LockoutExempt are application servers (CIDR) that bind for many
	// people from one address: their failures lock accounts, not the address.
	LockoutExempt []string `toml:"lockout_exempt"`
	// RequestTimeout bounds each request.
	RequestTimeout duration `toml:"request_timeout"`
	// Grants say what each service account may read besides itself:
	// "people", "groups", "services".
	Grants map[string][]string `toml:"grants"`
}

func defaultLDAP() LDAPSection {
	return LDAPSection{Listen: "127.0.0.1:3389", LDAPS: "127.0.0.1:3636", BaseDN: "dc=school,dc=example"}
}

func (s *LDAPSection) validate(p *problems) {
	if !s.Enabled {
		return
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		p.add("ldap.listen %q: want host:port, e.g. 0.0.0.0:389", s.Listen)
	}
	if s.LDAPS != "" {
		if _, _, err := net.SplitHostPort(s.LDAPS); err != nil {
			p.add("ldap.ldaps %q: want host:port, e.g. 0.0.0.0:636, or empty for none", s.LDAPS)
		}
	}
	if err := ldapserver.CheckBaseDN(s.BaseDN); err != nil {
		p.add("ldap.base_dn: %v", err)
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		p.add("ldap.cert_file and ldap.key_file: set both or neither")
	}
	if s.LDAPS != "" && s.CertFile == "" {
		p.add("ldap.ldaps needs ldap.cert_file and ldap.key_file (or set ldaps = \"\")")
	}
	if _, err := s.lockoutExempt(); err != nil {
		p.add("ldap.lockout_exempt: %v", err)
	}
	if s.RequestTimeout.Duration < 0 {
		p.add("ldap.request_timeout: must not be negative")
	}
	names := make([]string, 0, len(s.Grants))
	for n := range s.Grants {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := directory.ValidUsername(n); err != nil {
			p.add("ldap.grants.%s: %v", n, err)
		}
		if _, err := ldapserver.ParseGrant(s.Grants[n]); err != nil {
			p.add("ldap.grants.%s: %v", n, err)
		}
	}
}

// lockoutExempt parses LockoutExempt; a bare address is one host.
func (s *LDAPSection) lockoutExempt() ([]netip.Prefix, error) {
	return prefixes(s.LockoutExempt)
}

// demo sets the section up for keystage demo, with generated files in dir.
func (s *LDAPSection) demo(dir string) {
	s.Enabled = true
	s.Listen, s.LDAPS = "127.0.0.1:3389", "127.0.0.1:3636"
	s.BaseDN, s.Domain = "dc=demo,dc=keystage", "demo.keystage"
	s.CertFile, s.KeyFile = filepath.Join(dir, "ldap-cert.pem"), filepath.Join(dir, "ldap-key.pem")
	s.SelfSigned = true
	s.Grants = map[string][]string{demoLDAPService: {"people", "groups"}}
}

const exampleLDAP = `
[ldap]
# Network login for SSSD, nslcd and school apps: simple bind and search.
enabled = false
listen = "127.0.0.1:3389"          # plain LDAP; StartTLS upgrades it
ldaps = "127.0.0.1:3636"           # LDAP over TLS; "" for none
base_dn = "dc=school,dc=example"
domain = "school.example"          # people may bind as NAME@school.example
cert_file = "/etc/keystage/ldap-cert.pem"
key_file = "/etc/keystage/ldap-key.pem"
self_signed = false                # make the certificate above if missing (trials only)
allow_cleartext_binds = false      # simple binds without TLS only from this host
lockout_exempt = []                # app servers binding for many people, e.g. ["10.0.0.5"]: failures lock accounts, not the address
request_timeout = "30s"

# What each service account (role service, under ou=services) may read
# besides its own entry: "people", "groups", "services".
[ldap.grants]
# nslcd = ["people", "groups"]
`
