package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"sort"

	"keystage.dev/keystage/directory"
	ldapserver "keystage.dev/keystage/ldapserver"
	"keystage.dev/keystage/server"
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

	// Bounds on what clients may take before and after signing in (see
	// docs/security.md): connections in total and from one address (an
	// IPv6 /64), the time a begun request may take to arrive and a new
	// connection to bind, a request's size, a filter's parts, and the
	// searches run at once on the server (0: one per CPU, at least two) and
	// from one address.
	MaxConnections           int      `toml:"max_connections"`
	MaxConnectionsPerAddress int      `toml:"max_connections_per_address"`
	FrameTimeout             duration `toml:"frame_timeout"`
	BindTimeout              duration `toml:"bind_timeout"`
	MaxRequestBytes          int      `toml:"max_request_bytes"`
	MaxFilterTerms           int      `toml:"max_filter_terms"`
	MaxSearches              int      `toml:"max_searches"`
	MaxSearchesPerAddress    int      `toml:"max_searches_per_address"`
}

func defaultLDAP() LDAPSection {
	return LDAPSection{Listen: "127.0.0.1:3389", LDAPS: "127.0.0.1:3636", BaseDN: "dc=school,dc=example",
		MaxConnections: ldapserver.DefaultMaxConns, MaxConnectionsPerAddress: ldapserver.DefaultMaxConnsPerAddr,
		FrameTimeout: duration{ldapserver.DefaultFrameTimeout}, BindTimeout: duration{ldapserver.DefaultBindTimeout},
		MaxRequestBytes: ldapserver.DefaultMaxMessage, MaxFilterTerms: ldapserver.DefaultMaxFilterTerms,
		MaxSearchesPerAddress: ldapserver.DefaultMaxSearchesPerAddr}
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
	s.validateBounds(p)
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

// validateBounds checks the bounds; a zero is the default.
func (s *LDAPSection) validateBounds(p *problems) {
	positive := func(key string, v int) {
		if v < 0 {
			p.add("ldap.%s = %d: must not be negative (0 for the default)", key, v)
		}
	}
	positive("max_connections", s.MaxConnections)
	positive("max_connections_per_address", s.MaxConnectionsPerAddress)
	positive("max_searches", s.MaxSearches)
	positive("max_searches_per_address", s.MaxSearchesPerAddress)
	if s.MaxConnections > 0 && s.MaxConnectionsPerAddress > s.MaxConnections {
		p.add("ldap.max_connections_per_address = %d is more than max_connections = %d: lower it, or raise max_connections",
			s.MaxConnectionsPerAddress, s.MaxConnections)
	}
	if s.FrameTimeout.Duration < 0 || s.BindTimeout.Duration < 0 {
		p.add("ldap.frame_timeout and ldap.bind_timeout: must not be negative (0 for the default)")
	}
	if v := s.MaxRequestBytes; v != 0 && (v < 4<<10 || v > 16<<20) {
		p.add("ldap.max_request_bytes = %d: want 4096 to 16777216 (default %d)", v, ldapserver.DefaultMaxMessage)
	}
	if v := s.MaxFilterTerms; v != 0 && v < 16 {
		p.add("ldap.max_filter_terms = %d: want at least 16, or nslcd's and SSSD's own searches are refused (default %d)", v, ldapserver.DefaultMaxFilterTerms)
	}
}

// lockoutExempt parses LockoutExempt; a bare address is one host.
func (s *LDAPSection) lockoutExempt() ([]netip.Prefix, error) {
	return prefixes(s.LockoutExempt)
}

// settings are the LDAP frontend's typed settings: bound (nil: none) is told
// of each successful bind, log takes the server's log.
func (s *LDAPSection) settings(bound func(context.Context, directory.Account, string), log *slog.Logger) (server.LDAPConfig, error) {
	grants := map[string]ldapserver.Grant{}
	for n, g := range s.Grants {
		gr, err := ldapserver.ParseGrant(g)
		if err != nil {
			return server.LDAPConfig{}, fmt.Errorf("ldap.grants.%s: %w", n, err)
		}
		grants[n] = gr
	}
	exempt, err := s.lockoutExempt()
	if err != nil {
		return server.LDAPConfig{}, fmt.Errorf("ldap.lockout_exempt: %w", err)
	}
	return server.LDAPConfig{
		Server: ldapserver.Config{LockoutExempt: exempt, Bound: bound,
			BaseDN: s.BaseDN, Domain: s.Domain, Grants: grants,
			AllowCleartextBinds: s.AllowCleartextBinds, MaxTime: s.RequestTimeout.Duration,
			MaxConns: s.MaxConnections, MaxConnsPerAddr: s.MaxConnectionsPerAddress,
			FrameTimeout: s.FrameTimeout.Duration, BindTimeout: s.BindTimeout.Duration,
			MaxMessage: s.MaxRequestBytes, MaxFilterTerms: s.MaxFilterTerms,
			MaxSearches: s.MaxSearches, MaxSearchesPerAddr: s.MaxSearchesPerAddress,
			Log: log,
		},
		Listen: s.Listen, LDAPS: s.LDAPS,
		CertFile: s.CertFile, KeyFile: s.KeyFile, SelfSigned: s.SelfSigned,
	}, nil
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
# Bounds on what any client may take, signed in or not (docs/security.md).
max_connections = 4096             # open connections in all
max_connections_per_address = 256  # from one address (IPv6: one /64); more are refused and counted
frame_timeout = "10s"              # a request begun must arrive whole within this
bind_timeout = "30s"               # a new connection must bind within this, or is closed
max_request_bytes = 262144         # one request's size
max_filter_terms = 512             # parts of a search filter (each AND, OR, NOT, assertion); more: adminLimitExceeded
max_searches = 0                   # searches running at once (0: one per CPU, at least 2); binds never wait for them
max_searches_per_address = 1       # searches running at once from one address (IPv6: one /64); more wait their turn

# What each service account (role service, under ou=services) may read
# besides its own entry: "people", "groups", "services".
[ldap.grants]
# nslcd = ["people", "groups"]
`
