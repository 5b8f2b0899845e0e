package main

import (
	"net"
	"path/filepath"
	"strings"
	"time"

	"keystage.dev/keystage/radius"
)

// RADIUSSection configures the RADIUS frontend.
type RADIUSSection struct {
	// Enabled starts the frontend in keystage serve.
	Enabled bool `toml:"enabled"`
	// AuthAddress and AcctAddress are where Access-Requests and
	// Accounting-Requests are taken (UDP).
	AuthAddress string `toml:"auth_address"`
	AcctAddress string `toml:"acct_address"`
	// ReplyMessages says why in a Reply-Message on each reject (and on a
	// quarantine accept): the NAS may show it to the person.
	ReplyMessages bool `toml:"reply_messages"`
	// Realms are taken off a User-Name sent as NAME@realm (many devices
	// add one). Unset: the LDAP domain (ldap.domain), which LDAP accepts
	// the same way; [] turns realms off.
	Realms []string `toml:"realms"`
	// QuarantineVLAN, when set, lets an account whose only fault is an
	// unsigned AUP or missing parental consent into this VLAN, which should
	// reach nothing but the portal.
	QuarantineVLAN string `toml:"quarantine_vlan"`
	// RetentionDays keeps accounting records this many days after the
	// session ends (0: forever).
	RetentionDays int `toml:"retention_days"`
	// FactsTTL bounds how long what the gate knows about an account is
	// reused; a change made on another node is heard sooner (see
	// docs/several-nodes.md).
	FactsTTL duration `toml:"facts_ttl"`
	// Policies, in order of precedence: the first whose group an account
	// is in gives its VLAN, filter, session timeout and class.
	Policies []RADIUSPolicy `toml:"policy"`
	// EAP is PEAP and TTLS, what WPA-Enterprise clients send.
	EAP EAPSection `toml:"eap"`
}

// RADIUSPolicy is one [[radius.policy]].
type RADIUSPolicy struct {
	Group          string   `toml:"group"`
	VLAN           string   `toml:"vlan"`
	FilterID       string   `toml:"filter_id"`
	SessionTimeout duration `toml:"session_timeout"`
	Class          string   `toml:"class"`
}

func defaultRADIUS() RADIUSSection {
	return RADIUSSection{AuthAddress: ":1812", AcctAddress: ":1813", ReplyMessages: true, RetentionDays: 365,
		FactsTTL: duration{5 * time.Second}, EAP: EAPSection{Methods: []string{"peap", "ttls"}, FragmentSize: 1000}}
}

func (s *RADIUSSection) policies() []radius.Policy {
	out := make([]radius.Policy, len(s.Policies))
	for i, p := range s.Policies {
		out[i] = radius.Policy{Group: p.Group, VLAN: p.VLAN, FilterID: p.FilterID, SessionTimeout: p.SessionTimeout.Duration, Class: p.Class}
	}
	return out
}

func (s *RADIUSSection) validate(p *problems) {
	for name, a := range map[string]string{"radius.auth_address": s.AuthAddress, "radius.acct_address": s.AcctAddress} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			p.add("%s %q: want host:port, like :1812 or 127.0.0.1:1812", name, a)
		}
	}
	if s.Enabled && s.AuthAddress == s.AcctAddress {
		p.add("radius.auth_address and radius.acct_address are both %q: they need two ports", s.AuthAddress)
	}
	if s.RetentionDays < 0 {
		p.add("radius.retention_days %d: use 0 (forever) or more", s.RetentionDays)
	}
	if s.FactsTTL.Duration < 0 || s.FactsTTL.Duration > time.Minute {
		p.add("radius.facts_ttl %s: use 0s to 1m (the longest that what was looked up about an account is reused)", s.FactsTTL)
	}
	for _, r := range s.Realms {
		if r == "" || strings.ContainsAny(r, "@\\ ") {
			p.add("radius.realms %q: a realm is a domain such as \"school.example\", without @", r)
		}
	}
	if len(s.QuarantineVLAN) > 253 {
		p.add("radius.quarantine_vlan: at most 253 characters")
	}
	s.EAP.validate(p, s.Enabled)
	seen := map[string]bool{}
	for _, pol := range s.policies() {
		if err := pol.Validate(); err != nil {
			p.add("[[radius.policy]]: %v", err)
		}
		if seen[pol.Group] {
			p.add("[[radius.policy]] group %q appears twice: only the first would ever apply", pol.Group)
		}
		seen[pol.Group] = true
	}
}

// demo sets the section up for keystage demo: loopback ports that radtest
// reaches, and a VLAN each for staff and pupils to show the policy.
func (s *RADIUSSection) demo(dir string) {
	s.Enabled = true
	if s.EAP.CertFile == "" {
		// demoPKI makes these files in the demo's data directory.
		s.EAP.CertFile, s.EAP.KeyFile = filepath.Join(dir, demoRADIUSCert), filepath.Join(dir, demoRADIUSKey)
	}
	s.AuthAddress, s.AcctAddress = "127.0.0.1:1812", "127.0.0.1:1813"
	s.ReplyMessages = true
	if len(s.Policies) == 0 {
		s.Policies = []RADIUSPolicy{
			{Group: "staff", VLAN: "10", FilterID: "staff", Class: "staff"},
			{Group: "pupils", VLAN: "20", FilterID: "pupils-filtered", SessionTimeout: duration{8 * time.Hour}, Class: "pupil"},
		}
	}
}

const exampleRADIUS = `
# RADIUS for Wi-Fi (802.1X): PAP, CHAP, MS-CHAP(v2) and EAP against each
# person's own Wi-Fi credential. NAS clients are added with keystage nas add.
[radius]
enabled = false
auth_address = ":1812"
acct_address = ":1813"
# Say why in a Reply-Message on a reject.
reply_messages = true
# Realms taken off a User-Name sent as NAME@realm. Left out: the LDAP
# domain (ldap.domain); [] accepts bare names only.
# realms = ["school.example"]
# Accept an account whose only fault is an unsigned AUP (or missing parental
# consent) into this VLAN, which should reach only the portal. Empty: reject.
quarantine_vlan = ""
# Accounting records are kept this many days after the session ends (0: forever).
retention_days = 365
# The longest that what was looked up about an account is reused. A change
# made on another node is heard sooner: at once through PostgreSQL's
# notifications, and within 2 s from the audit trail.
facts_ttl = "5s"

# Network policy by group, in order of precedence: the first policy whose
# group an account is in applies. group = "*" matches everyone (put it last).
# These are read only until the directory holds network policies: the first
# keystage serve (or keystage filter propose) takes them into the directory
# as approved, and from then on a change is proposed and approved with
# keystage filter (docs/policy-controls.md); this list is no longer read.
# [[radius.policy]]
# group = "staff"
# vlan = "10"
# filter_id = "staff"
# session_timeout = "12h"
# class = "staff"
#
# [[radius.policy]]
# group = "pupils"
# vlan = "20"
# filter_id = "pupils-filtered"
# session_timeout = "8h"
# class = "pupil"
` + exampleEAP
