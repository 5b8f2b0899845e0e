package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"keystage.dev/keystage/siem"
)

// SyslogTarget is a collector receiving RFC 5424 syslog over TLS (RFC
// 5425): its address and the files to trust it and, when it asks, to
// present a client certificate.
type SyslogTarget struct {
	Address    string `toml:"address"`     // host:port; RFC 5425's port is 6514
	CAFile     string `toml:"ca_file"`     // PEM: the CA that signed the collector's certificate
	CertFile   string `toml:"cert_file"`   // PEM client certificate, for a collector that asks for one
	KeyFile    string `toml:"key_file"`    //
	ServerName string `toml:"server_name"` // the name in the collector's certificate (default: the host of address)
	Facility   string `toml:"facility"`    // syslog facility (default authpriv)
}

func (t *SyslogTarget) validate(p *problems, section string) {
	if t.Facility != "" {
		if _, ok := siem.Facilities[t.Facility]; !ok {
			p.add("%s.facility %q: use auth, authpriv, security, daemon or local0 to local7", section, t.Facility)
		}
	}
	if t.Address == "" {
		return
	}
	if _, _, err := net.SplitHostPort(t.Address); err != nil {
		p.add("%s.address %q: want host:port (RFC 5425's port is 6514)", section, t.Address)
	}
	if t.CAFile == "" {
		p.add("%s.ca_file: set it to the PEM file of the CA that signed the collector's certificate (messages go over TLS only)", section)
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		p.add("%s: set both cert_file and key_file, or neither", section)
	}
}

// sink is the syslog destination t names.
func (t *SyslogTarget) sink() (*siem.Syslog, error) {
	tc, err := siem.TLSConfig(t.CAFile, t.CertFile, t.KeyFile, t.ServerName)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	fac := siem.Facilities["authpriv"]
	if f, ok := siem.Facilities[t.Facility]; ok {
		fac = f
	}
	return &siem.Syslog{Address: t.Address, TLS: tc,
		Header: siem.Header{Facility: fac, Hostname: host, AppName: "keystage", ProcID: strconv.Itoa(os.Getpid())}}, nil
}

// SIEMSection offers every audit event, every signed checkpoint and the
// log's warnings to a security team's collector (docs/siem.md).
type SIEMSection struct {
	SyslogTarget
	// File is a JSON Lines file for an agent to ship (0600; rotated to
	// FILE.1 at FileMaxMB).
	File      string `toml:"file"`
	FileMaxMB int    `toml:"file_max_mb"`
	// Queue bounds the messages waiting for each destination; when full
	// the oldest are dropped (keystage_siem_dropped_total).
	Queue int `toml:"queue"`
	// LogLevel sends log lines at this level or above too: info (every
	// refusal logged, and every sign-in), warn, error, or off.
	LogLevel string `toml:"log_level"`
}

func defaultSIEM() SIEMSection {
	return SIEMSection{FileMaxMB: 100, Queue: 10000, LogLevel: "warn"}
}

func (s *SIEMSection) validate(p *problems) {
	s.SyslogTarget.validate(p, "siem")
	if s.FileMaxMB < 1 || s.FileMaxMB > 100000 {
		p.add("siem.file_max_mb %d: between 1 and 100000", s.FileMaxMB)
	}
	if s.Queue < 1 || s.Queue > 1000000 {
		p.add("siem.queue %d: between 1 and 1000000", s.Queue)
	}
	if !oneOf(s.LogLevel, "info", "warn", "error", "off") {
		p.add("siem.log_level %q: use info, warn, error or off", s.LogLevel)
	}
}

// WitnessSection is where every signed checkpoint is copied as it is made:
// a collector on another host that the server cannot rewrite, whose copy
// keystage audit verify --witness reads back.
type WitnessSection struct {
	SyslogTarget
	// URL is an HTTP(S) endpoint that keeps what is posted to it, instead
	// of or beside the syslog collector; ca_file, when set, is trusted for
	// it too.
	URL string `toml:"url"`
}

func (w *WitnessSection) validate(p *problems) {
	w.SyslogTarget.validate(p, "audit.witness")
	if w.URL == "" {
		return
	}
	u, err := url.Parse(w.URL)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		p.add("audit.witness.url %q: want https://host/path", w.URL)
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		p.add("audit.witness.url %q: use https (plain http only to this host)", w.URL)
	}
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// sinks are the witness's destinations, named.
func (w *WitnessSection) sinks() (map[string]siem.Sink, error) {
	out := map[string]siem.Sink{}
	if w.Address != "" {
		s, err := w.sink()
		if err != nil {
			return nil, err
		}
		out["witness "+w.Address] = s
	}
	if w.URL != "" {
		client := &http.Client{Timeout: 10 * time.Second}
		if w.CAFile != "" {
			tc, err := siem.TLSConfig(w.CAFile, w.CertFile, w.KeyFile, w.ServerName)
			if err != nil {
				return nil, err
			}
			client.Transport = &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: 10 * time.Second}
		} else {
			client.Transport = &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment}
		}
		out["witness "+w.URL] = &siem.HTTP{URL: w.URL, Client: client}
	}
	return out, nil
}

const exampleSIEM = `
[siem]
# Offer every audit event as it is appended, every signed checkpoint, and
# the log's warnings to a security team's collector (docs/siem.md): RFC 5424
# syslog over TLS (RFC 5425), or JSON Lines to a file for an agent, or both.
# Delivery never holds up sign-in: each destination queues at most "queue"
# messages and drops the oldest when full (keystage_siem_dropped_total).
address = ""                 # collector host:port, e.g. "siem.school.internal:6514"; TLS only
ca_file = ""                 # PEM of the CA that signed the collector's certificate
cert_file = ""               # client certificate and key, when the collector asks for one
key_file = ""
server_name = ""             # name in the collector's certificate (default: the host of address)
facility = "authpriv"
file = ""                    # JSON Lines for an agent, e.g. "/var/log/keystage/siem.jsonl" (0600)
file_max_mb = 100            # rotated to FILE.1 at this size
queue = 10000
log_level = "warn"           # log lines at this level or above are sent too: info (refused binds
                             # and Login incorrect as well), warn (dropped requests), error or off
`

const exampleWitness = `
[audit.witness]
# Copy every signed checkpoint, as it is made, to a collector on another
# host that this server cannot rewrite; keystage audit verify --witness
# FILE then checks the trail against what it kept (docs/siem.md). A file on
# this host is no witness.
address = ""                 # syslog over TLS, e.g. "witness.school.internal:6514"
ca_file = ""
cert_file = ""
key_file = ""
server_name = ""
facility = "authpriv"
url = ""                     # or an HTTPS endpoint that keeps each record posted to it
`
