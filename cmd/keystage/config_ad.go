package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/downstream"
	"keystage.dev/keystage/downstream/ad"
)

// ADSection makes the school's Active Directory follow Keystage
// (docs/active-directory.md). Empty url: Keystage drives no domain.
type ADSection struct {
	URL              string   `toml:"url"`                // ldaps://dc1.school.internal
	CAFile           string   `toml:"ca_file"`            // PEM of the CA that signed the DC's certificate (default: the system's)
	ServerName       string   `toml:"server_name"`        // the name in the DC's certificate (default: the host of url)
	BindDN           string   `toml:"bind_dn"`            // the account Keystage binds as
	BindPasswordFile string   `toml:"bind_password_file"` // a file holding its password (0600)
	BaseDN           string   `toml:"base_dn"`            // DC=school,DC=internal
	OU               string   `toml:"ou"`                 // the OU Keystage's objects live under (must exist)
	PupilOU          string   `toml:"pupil_ou"`           // relative to ou; {year} is the year group, {school} the school
	StaffOU          string   `toml:"staff_ou"`           // relative to ou
	GroupsOU         string   `toml:"groups_ou"`          // relative to ou
	UPNSuffix        string   `toml:"upn_suffix"`         // default: the domain's DNS name
	Match            string   `toml:"match"`              // adoption: employeeID or sAMAccountName
	Protected        []string `toml:"protected"`          // sAMAccountNames never touched
	GroupKinds       []string `toml:"group_kinds"`        // Keystage groups mirrored: role, year, reg, class, custom
	Every            duration `toml:"every"`              // the scheduled plan and apply (0: by hand only)
	PasswordsEvery   duration `toml:"passwords_every"`    // how often passwords set in Keystage are pushed
	MassChange       float64  `toml:"mass_change"`        // share of Keystage's AD accounts one run may disable or delete
}

func defaultAD() ADSection {
	return ADSection{PupilOU: "OU=Year {year},OU=Pupils", StaffOU: "OU=Staff", GroupsOU: "OU=Groups", Match: "employeeID",
		GroupKinds: []string{"role", "year", "reg"}, Every: duration{15 * time.Minute}, PasswordsEvery: duration{10 * time.Second}, MassChange: 0.05}
}

// enabled reports whether a domain is configured.
func (s *ADSection) enabled() bool { return s.URL != "" }

func (s *ADSection) validate(p *problems) {
	if !s.enabled() {
		return
	}
	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme != "ldaps" || u.Host == "" {
		p.add("active_directory.url %q: want ldaps://HOST (Active Directory sets passwords only over an encrypted connection)", s.URL)
	}
	for _, v := range []struct{ name, val string }{{"bind_dn", s.BindDN}, {"bind_password_file", s.BindPasswordFile}, {"base_dn", s.BaseDN}, {"ou", s.OU}} {
		if v.val == "" {
			p.add("active_directory.%s: set it (see docs/active-directory.md)", v.name)
		}
	}
	if s.OU != "" && s.BaseDN != "" && !strings.HasSuffix(strings.ToLower(s.OU), ","+strings.ToLower(s.BaseDN)) {
		p.add("active_directory.ou %q: must be inside base_dn %q", s.OU, s.BaseDN)
	}
	if s.Match != string(ad.MatchEmployeeID) && s.Match != string(ad.MatchSAMAccountName) {
		p.add("active_directory.match %q: use employeeID or sAMAccountName", s.Match)
	}
	for _, k := range s.GroupKinds {
		if !oneOf(k, "role", "year", "reg", "class", "custom") {
			p.add("active_directory.group_kinds %q: use role, year, reg, class or custom", k)
		}
	}
	if s.Every.Duration < 0 || (s.Every.Duration > 0 && s.Every.Duration < time.Minute) {
		p.add("active_directory.every %s: 0 (by hand only) or at least 1m", s.Every.Duration)
	}
	if s.PasswordsEvery.Duration < time.Second || s.PasswordsEvery.Duration > time.Hour {
		p.add("active_directory.passwords_every %s: between 1s and 1h", s.PasswordsEvery.Duration)
	}
	if s.MassChange <= 0 || s.MassChange > 1 {
		p.add("active_directory.mass_change %v: want a share above 0 and at most 1 (0.05 is 5%%)", s.MassChange)
	}
}

// target is the ad.Config of the section, reading the bind password and
// the CA file.
func (s *ADSection) target(school string, names map[string]string) (ad.Config, error) {
	pw, err := os.ReadFile(s.BindPasswordFile)
	if err != nil {
		return ad.Config{}, fmt.Errorf("active_directory.bind_password_file: %w", err)
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return ad.Config{}, fmt.Errorf("active_directory.url: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	if s.CAFile != "" {
		ca, err := os.ReadFile(s.CAFile)
		if err != nil {
			return ad.Config{}, fmt.Errorf("active_directory.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(ca) {
			return ad.Config{}, fmt.Errorf("active_directory.ca_file %s: no PEM certificate in it", s.CAFile)
		}
	}
	return ad.Config{URL: s.URL, TLS: tc, BindDN: s.BindDN, BindPassword: strings.TrimRight(string(pw), "\r\n"), BaseDN: s.BaseDN, OU: s.OU,
		OUs:      map[directory.Role]string{directory.RolePupil: s.PupilOU, directory.RoleStaff: s.StaffOU},
		GroupsOU: s.GroupsOU, School: school, SchoolNames: names, UPNSuffix: s.UPNSuffix, Match: ad.Match(s.Match), Protected: s.Protected}, nil
}

// sync is the downstream engine for the section over d.
func (s *ADSection) sync(d *directory.Directory, school string, names map[string]string) (*downstream.Sync, error) {
	tc, err := s.target(school, names)
	if err != nil {
		return nil, err
	}
	kinds := make([]directory.GroupKind, len(s.GroupKinds))
	for i, k := range s.GroupKinds {
		kinds[i] = directory.GroupKind(k)
	}
	return downstream.NewSync(d, downstream.Config{
		Name:       "ad",
		Open:       func(ctx context.Context) (downstream.Target, error) { return ad.Open(ctx, tc) },
		GroupKinds: kinds, MassChange: s.MassChange, Every: s.Every.Duration, PasswordsEvery: s.PasswordsEvery.Duration,
	}, nil), nil
}

// passwordDownstreams are the downstream directories every password set
// in Keystage is queued for.
func (c *Config) passwordDownstreams() []string {
	if c.ActiveDirectory.enabled() {
		return []string{"ad"}
	}
	return nil
}

const exampleAD = `
[active_directory]
# Make the school's Active Directory follow Keystage (docs/active-directory.md):
# people made, updated, moved and disabled in an OU of their own, the groups
# Keystage owns, and every password set in Keystage set in AD too (over
# LDAPS). Keystage touches only objects it made or adopted (its tag is in
# adminDescription), never an administrator. Empty url: no domain is driven.
url = ""                          # ldaps://dc1.school.internal
ca_file = ""                      # PEM of the CA that signed the DC's certificate (default: the system's)
server_name = ""                  # the name in the DC's certificate (default: the host of url)
bind_dn = ""                      # e.g. "CN=keystage-sync,OU=Service Accounts,DC=school,DC=internal"
bind_password_file = ""           # a file (0600) holding that account's password
base_dn = ""                      # the domain: "DC=school,DC=internal"
ou = ""                           # Keystage's OU, made beforehand: "OU=Keystage,DC=school,DC=internal"
pupil_ou = "OU=Year {year},OU=Pupils"  # under ou; {year} is the year group, {school} the school's name (also in staff_ou, groups_ou)
staff_ou = "OU=Staff"
groups_ou = "OU=Groups"
upn_suffix = ""                   # userPrincipalName's part after @ (default: the domain's DNS name)
match = "employeeID"              # keystage ad adopt matches existing users by employeeID (the MIS id) or sAMAccountName
protected = []                    # sAMAccountNames never touched, besides administrators and built-in accounts
group_kinds = ["role", "year", "reg"]  # Keystage groups mirrored (also class, custom)
every = "15m"                     # plan and apply from keystage serve (0: by hand only)
passwords_every = "10s"           # passwords set in Keystage are pushed this often
mass_change = 0.05                # a run disabling or deleting more than this share of Keystage's AD accounts is refused
`
