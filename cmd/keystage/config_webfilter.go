package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"keystage.dev/keystage/webfilter"
)

// WebFilterSection tells the school's web filter who is behind each
// address (see docs/webfilter.md).
type WebFilterSection struct {
	// Receivers are the filters' RADIUS accounting listeners, each sent
	// every accounting record (and the LDAP announcements) through a queue
	// of its own on disk.
	Receivers []WebFilterReceiver `toml:"receiver"`
	// LDAP announces a person's own desktop bind; off by default.
	LDAP WebFilterLDAP `toml:"ldap"`
	// Feed is the HTTP feed for filters that poll.
	Feed WebFilterFeed `toml:"feed"`
}

// WebFilterReceiver is one [[webfilter.receiver]].
type WebFilterReceiver struct {
	Name    string `toml:"name"`
	Address string `toml:"address"`
	// Secret, or SecretFile holding it, is the RADIUS shared secret the
	// filter has for Keystage.
	Secret         string   `toml:"secret"`
	SecretFile     string   `toml:"secret_file"`
	UserName       string   `toml:"user_name"`
	Attributes     []string `toml:"attributes"`
	ClassGroups    []string `toml:"class_groups"`
	FilterIDGroups []string `toml:"filter_id_groups"`
	// DropAccountingOnOff leaves out the access points' Accounting-On and
	// -Off, for a filter that would take one as the end of every session
	// Keystage sent it.
	DropAccountingOnOff bool  `toml:"drop_accounting_on_off"`
	MaxBytes            int64 `toml:"max_bytes"`
	MaxRecords          int   `toml:"max_records"`
}

// WebFilterLDAP is [webfilter.ldap].
type WebFilterLDAP struct {
	Announce bool     `toml:"announce"`
	Lifetime duration `toml:"lifetime"`
	// ExcludeAddresses are application and terminal servers (addresses or
	// CIDRs); ldap.lockout_exempt is excluded as well.
	ExcludeAddresses []string `toml:"exclude_addresses"`
	ExcludeUsers     []string `toml:"exclude_users"`
}

// WebFilterFeed is [webfilter.feed].
type WebFilterFeed struct {
	// Listen is where the feed is served (HTTP, or HTTPS with a
	// certificate); empty: off.
	Listen  string           `toml:"listen"`
	TLSCert string           `toml:"tls_cert"`
	TLSKey  string           `toml:"tls_key"`
	Tokens  []WebFilterToken `toml:"token"`
}

// WebFilterToken is one [[webfilter.feed.token]]: a filter's (or an
// investigator's) token, kept as its SHA-256.
type WebFilterToken struct {
	Name    string `toml:"name"`
	SHA256  string `toml:"sha256"`
	History bool   `toml:"history"`
}

func defaultWebFilter() WebFilterSection {
	return WebFilterSection{LDAP: WebFilterLDAP{Lifetime: duration{time.Hour}}}
}

func (s *WebFilterSection) validate(p *problems) {
	names := map[string]bool{}
	for _, r := range s.Receivers {
		wr := r.receiver("")
		if r.SecretFile != "" {
			if r.Secret != "" {
				p.add("[[webfilter.receiver]] %s: give secret or secret_file, not both", r.Name)
			}
			wr.Secret = "placeholder-read-at-start"
		}
		for _, msg := range wr.Validate() {
			p.add("webfilter.%s", msg)
		}
		if names[r.Name] {
			p.add("[[webfilter.receiver]] name %q appears twice: each receiver needs its own queue", r.Name)
		}
		names[r.Name] = true
	}
	if s.LDAP.Lifetime.Duration < time.Minute || s.LDAP.Lifetime.Duration > 24*time.Hour {
		p.add("webfilter.ldap.lifetime %s: use 1m to 24h (how long one desktop bind holds its address)", s.LDAP.Lifetime)
	}
	if _, err := parsePrefixes(s.LDAP.ExcludeAddresses); err != nil {
		p.add("webfilter.ldap.exclude_addresses: %v", err)
	}
	f := s.Feed
	if f.Listen != "" {
		if _, _, err := net.SplitHostPort(f.Listen); err != nil {
			p.add("webfilter.feed.listen %q: want host:port", f.Listen)
		}
		if len(f.Tokens) == 0 {
			p.add("webfilter.feed: no [[webfilter.feed.token]]: nobody could read it; add one (keystage webfilter token NAME prints it)")
		}
	}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		p.add("webfilter.feed: tls_cert and tls_key go together")
	}
	seen := map[string]bool{}
	for _, t := range f.Tokens {
		if t.Name == "" {
			p.add("[[webfilter.feed.token]]: name missing (it names the filter in logs)")
		}
		if _, err := webfilter.ParseTokenHash(t.SHA256); err != nil {
			p.add("[[webfilter.feed.token]] %s: sha256: %v", t.Name, err)
		}
		if seen[t.SHA256] {
			p.add("[[webfilter.feed.token]] %s: the same token as another: give each filter its own", t.Name)
		}
		seen[t.SHA256] = true
	}
}

// receiver is the package's view of a receiver; its secret comes from
// secret_file when one is named.
func (r WebFilterReceiver) receiver(secret string) webfilter.Receiver {
	if secret == "" {
		secret = r.Secret
	}
	return webfilter.Receiver{Name: r.Name, Address: r.Address, Secret: secret, UserName: r.UserName,
		Attributes: r.Attributes, ClassGroups: r.ClassGroups, FilterIDGroups: r.FilterIDGroups,
		DropNASRestarts: r.DropAccountingOnOff, MaxBytes: r.MaxBytes, MaxRecords: r.MaxRecords}
}

func (r WebFilterReceiver) secret() (string, error) {
	if r.SecretFile == "" {
		return r.Secret, nil
	}
	b, err := os.ReadFile(r.SecretFile)
	if err != nil {
		return "", fmt.Errorf("webfilter receiver %s: secret_file: %w", r.Name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// queueDir is where the receivers' queues are kept.
func (s *WebFilterSection) queueDir(dataDir string) string {
	return filepath.Join(dataDir, "webfilter")
}

// parsePrefixes reads addresses (one host each) and CIDRs.
func parsePrefixes(vs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vs {
		if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pfx, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("%q: want an address or a CIDR such as 10.0.9.0/24", v)
		}
		out = append(out, pfx.Masked())
	}
	return out, nil
}

const exampleWebFilter = `
# The web filter (Smoothwall, Lightspeed, Fortinet, Netsweeper…): who is
# behind each address, so that it filters by person and group. See
# docs/webfilter.md.
[webfilter]

# Each receiver is a filter's RADIUS accounting listener. It is sent every
# accounting record Keystage receives (Start, Interim-Update, Stop,
# Accounting-On/Off), a Stop when Keystage ends a session (suspension,
# leaver, Disconnect), and the LDAP announcements below; through a queue
# on disk (DATA/webfilter/NAME.queue), so that nothing is lost while the
# filter restarts. A full queue drops its oldest events.
# [[webfilter.receiver]]
# name = "smoothwall"
# address = "10.0.0.5:1813"
# secret_file = "/etc/keystage/smoothwall.secret"   # or secret = "…"
# # The User-Name the filter expects: "{user}", "{user}@school.example"
# # or "SCHOOL\\{user}".
# user_name = "{user}"
# # Sent besides Acct-Status-Type, Acct-Session-Id, Acct-Delay-Time and
# # Event-Timestamp. Left out: all of these.
# attributes = ["User-Name", "Framed-IP-Address", "Calling-Station-Id",
#   "Called-Station-Id", "NAS-IP-Address", "NAS-Identifier", "Class",
#   "Filter-Id", "Acct-Session-Time", "Acct-Terminate-Cause"]
# # One Class per group of the person matching these patterns. Left out:
# # the Class of the person's [[radius.policy]].
# class_groups = ["year-*", "staff", "pupils"]
# # Filter-Id: the person's first group matching these patterns. Left out:
# # the filter_id of the person's [[radius.policy]].
# filter_id_groups = ["filter-*"]
# # An access point's Accounting-On/Off is sent with its NAS-IP-Address.
# # A filter that takes one as the end of every session Keystage sent it
# # (it keys sessions by the sender, not NAS-IP-Address) needs them left out.
# drop_accounting_on_off = false
# max_bytes = 67108864    # the queue's bounds
# max_records = 200000

[webfilter.ldap]
# A person's own LDAP bind from a desktop (SSSD, nslcd, pGina-style agents)
# announces them at its address until lifetime passes without another.
# Service accounts never are; nor the addresses below, nor ldap.lockout_exempt.
announce = false
lifetime = "1h"
# Application and terminal servers (Moodle, RDS), which bind for everyone.
exclude_addresses = []
exclude_users = []

[webfilter.feed]
# GET /webfilter/v1/address/ADDRESS[?at=RFC3339] with Authorization: Bearer
# TOKEN: who is at the address now (or was at a time: history tokens only).
# Its own listener, for the filter only. Empty: off.
listen = ""   # e.g. "10.0.0.2:8443"
tls_cert = ""
tls_key = ""
# keystage webfilter token NAME prints a new token and these lines.
# [[webfilter.feed.token]]
# name = "smoothwall"
# sha256 = "…"
# history = false   # true: may ask who had an address at a past time
`
