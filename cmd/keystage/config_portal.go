package main

import (
	"net"
	"net/url"
	"path/filepath"
	"time"

	"keystage.dev/keystage/portal"
)

// PortalSection configures the web portal.
type PortalSection struct {
	// Enabled starts the frontend in keystage serve.
	Enabled bool `toml:"enabled"`
	// Listen is the address the portal binds (behind no proxy, or a proxy
	// that passes TLS through).
	Listen string `toml:"listen"`
	// PublicURL is how browsers reach the portal. Its host name is the
	// passkeys' relying party: a name, never an IP address.
	PublicURL string `toml:"public_url"`
	// TLSCert and TLSKey are PEM files. Plain HTTP is refused unless the
	// public URL is http://localhost (a developer's machine).
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// SessionLifetime is how long a sign-in lasts.
	SessionLifetime duration `toml:"session_lifetime"`
	// IdleTimeout signs out a session with no request for this long; 0:
	// none.
	IdleTimeout duration `toml:"idle_timeout"`
	// SharedPC makes the sign-in a browser session: closing the browser
	// signs out (computers shared in a classroom or library).
	SharedPC bool `toml:"shared_pc"`
	// What people type into a phone or laptop for the Wi-Fi.
	WiFiSSID         string   `toml:"wifi_ssid"`
	WiFiEAPMethods   []string `toml:"wifi_eap_methods"`
	WiFiServerDomain string   `toml:"wifi_server_domain"`
	// Staff roles by group name.
	TechnicianGroups   []string `toml:"technician_groups"`
	SafeguardingGroups []string `toml:"safeguarding_groups"`
	AuditorGroups      []string `toml:"auditor_groups"`
	// DataProtectionGroups hold the data-protection role (the DPO): legal
	// holds, beside the safeguarding role.
	DataProtectionGroups []string `toml:"data_protection_groups"`
	// PasskeyRoles must sign in with a passkey to use their powers.
	PasskeyRoles []string `toml:"passkey_roles"`
	// GuestMaxLifetime is the longest guest access a sponsor may give.
	GuestMaxLifetime duration `toml:"guest_max_lifetime"`
	// TeachersSeeClasses gives staff a page of the pupils in the MIS
	// registration and teaching groups they are in.
	TeachersSeeClasses bool `toml:"teachers_see_classes"`
	// Requests per minute from people not yet signed in (a passkey
	// sign-in's start): per browser the portal knows, for browsers it does
	// not know from one address together, and the ceiling for one address.
	// 0: the defaults (20, 120, 1200).
	RatePerDevice     int `toml:"rate_per_device"`
	RateNewcomers     int `toml:"rate_newcomers_per_address"`
	RatePerAddressMax int `toml:"rate_per_address"`
	// TrustedProxies are the reverse proxies in front of the portal
	// (addresses or CIDR); ClientAddressHeader is the header they put the
	// client's address in. Both or neither.
	TrustedProxies      []string `toml:"trusted_proxies"`
	ClientAddressHeader string   `toml:"client_address_header"`

	// demoCert makes a self-signed certificate when the files are missing.
	demoCert bool
}

func defaultPortal() PortalSection {
	return PortalSection{
		Listen:               "127.0.0.1:8443",
		SessionLifetime:      duration{8 * time.Hour},
		WiFiEAPMethods:       []string{"PEAP/MSCHAPv2", "TTLS/PAP"},
		TechnicianGroups:     []string{"portal-technicians"},
		SafeguardingGroups:   []string{"portal-safeguarding"},
		AuditorGroups:        []string{"portal-auditors"},
		DataProtectionGroups: []string{"portal-data-protection"},
		PasskeyRoles:         []string{"technician", "safeguarding", "auditor"},
		GuestMaxLifetime:     duration{14 * 24 * time.Hour},
		TeachersSeeClasses:   true,
	}
}

func (s *PortalSection) validate(p *problems) {
	if !s.Enabled {
		return
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		p.add("portal.listen %q: want host:port, e.g. 127.0.0.1:8443", s.Listen)
	}
	u, err := url.Parse(s.PublicURL)
	switch {
	case s.PublicURL == "":
		p.add("portal.public_url: set it to how browsers reach the portal, e.g. https://portal.school.example")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		p.add("portal.public_url %q: want https://name[:port]", s.PublicURL)
	case net.ParseIP(u.Hostname()) != nil:
		p.add("portal.public_url %q: passkeys need a host name, not an IP address", s.PublicURL)
	case u.Scheme == "http" && u.Hostname() != "localhost":
		p.add("portal.public_url %q: plain http is only for localhost; use https", s.PublicURL)
	case u.Scheme == "https" && (s.TLSCert == "" || s.TLSKey == ""):
		p.add("portal.tls_cert and portal.tls_key: both are needed for https")
	}
	if s.SessionLifetime.Duration < 5*time.Minute || s.SessionLifetime.Duration > 7*24*time.Hour {
		p.add("portal.session_lifetime %s: between 5m and 168h", s.SessionLifetime.Duration)
	}
	if s.IdleTimeout.Duration != 0 && (s.IdleTimeout.Duration < 5*time.Minute || s.IdleTimeout.Duration > s.SessionLifetime.Duration) {
		p.add("portal.idle_timeout %s: 0 for none, or between 5m and the session lifetime (%s)", s.IdleTimeout.Duration, s.SessionLifetime.Duration)
	}
	if s.RatePerDevice < 0 || s.RateNewcomers < 0 || s.RatePerAddressMax < 0 {
		p.add("portal.rate_per_device, rate_newcomers_per_address and rate_per_address: requests a minute, 0 for the default")
	}
	if s.GuestMaxLifetime.Duration < 4*time.Hour {
		p.add("portal.guest_max_lifetime %s: at least 4h", s.GuestMaxLifetime.Duration)
	}
	if s.WiFiSSID == "" {
		p.add("portal.wifi_ssid: the network name people choose on their devices")
	}
	if s.WiFiServerDomain == "" {
		p.add("portal.wifi_server_domain: the name in the RADIUS server's certificate that devices must check")
	}
	if _, err := prefixes(s.TrustedProxies); err != nil {
		p.add("portal.trusted_proxies: %v", err)
	}
	if (len(s.TrustedProxies) == 0) != (s.ClientAddressHeader == "") {
		p.add("portal.trusted_proxies and portal.client_address_header: set both (a proxy and the header it writes, e.g. X-Forwarded-For) or neither")
	}
	for _, r := range s.PasskeyRoles {
		if !oneOf(r, "technician", "safeguarding", "auditor", "data-protection") {
			p.add("portal.passkey_roles: %q is not a role; use technician, safeguarding, auditor or data-protection", r)
		}
	}
}

// portalConfig is the portal package's configuration.
func (s *PortalSection) portalConfig(school string, loc *time.Location) portal.Config {
	proxies, _ := prefixes(s.TrustedProxies) // validate has refused a list that does not parse
	roles := make([]portal.StaffRole, len(s.PasskeyRoles))
	for i, r := range s.PasskeyRoles {
		roles[i] = portal.StaffRole(r)
	}
	return portal.Config{
		PublicURL:       s.PublicURL,
		SchoolName:      school,
		WiFi:            portal.WiFiSettings{SSID: s.WiFiSSID, EAPMethods: s.WiFiEAPMethods, ServerDomain: s.WiFiServerDomain},
		SessionLifetime: s.SessionLifetime.Duration,
		IdleTimeout:     s.IdleTimeout.Duration,
		SharedPC:        s.SharedPC,
		RoleGroups: map[portal.StaffRole][]string{
			portal.RoleTechnician:     s.TechnicianGroups,
			portal.RoleSafeguarding:   s.SafeguardingGroups,
			portal.RoleAuditor:        s.AuditorGroups,
			portal.RoleDataProtection: s.DataProtectionGroups,
		},
		PasskeyRoles:        roles,
		TeachersSeeClasses:  s.TeachersSeeClasses,
		Location:            loc,
		Guests:              portal.GuestSettings{MaxLifetime: s.GuestMaxLifetime.Duration},
		TrustedProxies:      proxies,
		ClientAddressHeader: s.ClientAddressHeader,
		RateLimits:          portal.RateLimits{PerDevice: s.RatePerDevice, NewcomersPerAddress: s.RateNewcomers, PerAddress: s.RatePerAddressMax},
	}
}

// roleGroups names each staff role's groups, for commands that check the
// roles of the person running them.
func (s *PortalSection) roleGroups() map[string][]string {
	return map[string][]string{
		string(portal.RoleTechnician):     s.TechnicianGroups,
		string(portal.RoleSafeguarding):   s.SafeguardingGroups,
		string(portal.RoleAuditor):        s.AuditorGroups,
		string(portal.RoleDataProtection): s.DataProtectionGroups,
	}
}

// demo serves https://127.0.0.1:8443 with a self-signed certificate made in
// dir. The public URL names localhost, since passkeys refuse IP addresses;
// passkeys are not required of staff in the demo, because browsers refuse
// WebAuthn on a certificate they do not trust.
func (s *PortalSection) demo(dir string) {
	s.Enabled = true
	s.Listen = "127.0.0.1:8443"
	s.PublicURL = "https://localhost:8443"
	s.TLSCert = filepath.Join(dir, "portal.crt")
	s.TLSKey = filepath.Join(dir, "portal.key")
	s.WiFiSSID = "KeystageDemo"
	s.WiFiServerDomain = "radius.demo.keystage.invalid"
	s.PasskeyRoles = nil
	s.demoCert = true
}

const examplePortal = `
[portal]
enabled = false
listen = "127.0.0.1:8443"
# How browsers reach the portal; its host name is the passkeys' relying
# party, so a name, not an IP address.
public_url = "https://portal.school.example"
tls_cert = "/etc/keystage/portal.crt"
tls_key = "/etc/keystage/portal.key"
session_lifetime = "8h"
idle_timeout = "30m"   # signed out after this long without a request; "0s" for none
shared_pc = false      # true: the sign-in ends when the browser closes (shared classroom or library computers)
# What people type into their devices for the Wi-Fi.
wifi_ssid = "School"
wifi_eap_methods = ["PEAP/MSCHAPv2", "TTLS/PAP"]
wifi_server_domain = "radius.school.example"
# Staff roles by group membership.
technician_groups = ["portal-technicians"]
safeguarding_groups = ["portal-safeguarding"]
auditor_groups = ["portal-auditors"]
data_protection_groups = ["portal-data-protection"]   # the DPO: legal holds
# These roles must sign in with a passkey to use their powers.
passkey_roles = ["technician", "safeguarding", "auditor"]
guest_max_lifetime = "336h"
teachers_see_classes = true   # staff see the pupils of their MIS registration and teaching groups (/classes)
# Requests a minute from people not yet signed in (a passkey sign-in's
# start): per browser the portal knows (a sealed device cookie), for new
# browsers from one address together, and the ceiling for one address
# (a whole school may come through one NAT address).
rate_per_device = 20
rate_newcomers_per_address = 120
rate_per_address = 1200
# Behind a reverse proxy: its addresses (or CIDR), and the header it puts
# the client's address in. Only from these is the header believed; the
# lockout counts each client, not the proxy.
trusted_proxies = []                 # e.g. ["10.0.0.2"]
client_address_header = ""           # e.g. "X-Forwarded-For"
`
