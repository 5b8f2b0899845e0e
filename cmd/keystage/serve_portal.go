package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/pki"
	"keystage.dev/keystage/portal"
	"keystage.dev/keystage/private"
	"keystage.dev/keystage/server"
)

// The demo staff who hold portal roles (see demo_seed.go).
var demoPortalRoles = []struct{ role, mis string }{
	{"technician", demoTechnicianMIS},
	{"safeguarding", demoSafeguardingMIS},
	{"auditor", demoAuditorMIS},
}

// buildPortal makes the portal when the configuration enables it, with the
// MIS sync and the leaver job, and the auditors' exports.
func buildPortal(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	pc := cfg.Portal
	if !pc.Enabled {
		return nil, nil
	}
	if pc.demoCert {
		if err := demoCertificate(pc.TLSCert, pc.TLSKey); err != nil {
			return nil, err
		}
	}
	pcfg := pc.portalConfig(cfg.School, cfg.Location())
	pcfg.FirstPasswords = cfg.Passwords.First.portal()
	pcfg.Log = e.logger().With("frontend", "portal")
	pcfg.Review = cfg.reviewPolicy()
	p, err := portal.New(d.Store(), d, pcfg, portal.Services{Lifecycle: portal.JobsLifecycle(newJobs(d, cfg, e.logger().With("frontend", "portal"))),
		Exports: directory.Exports{D: d, Location: cfg.Location()}})
	if err != nil {
		return nil, err
	}
	var tlsConf *tls.Config
	if strings.HasPrefix(pc.PublicURL, "https:") {
		cert, err := tls.LoadX509KeyPair(pc.TLSCert, pc.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("portal TLS certificate: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", pc.Listen)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	scheme := "https"
	if tlsConf == nil {
		scheme = "http"
	}
	addr := ln.Addr().String()
	f := &server.Frontend{
		Name:  "portal",
		Addrs: []string{addr},
		Close: ln.Close,
		Hints: []string{
			"open " + pc.PublicURL + " in a browser (the demo certificate is self-signed: accept it once)",
			"curl -sk " + scheme + "://" + addr + "/signin | grep -o '<title>[^<]*</title>'",
		},
	}
	if pc.demoCert {
		for _, r := range demoPortalRoles {
			if a, err := d.Store().AccountByMISID(e.ctx, r.mis); err == nil {
				f.Hints = append(f.Hints, fmt.Sprintf("%-12s %-14s password %s", r.role, a.Username, demoStaffPassword))
			}
		}
	}
	f.Serve = func(ctx context.Context) error { return p.Serve(ctx, ln, tlsConf) }
	return f, nil
}

// demoCertificate makes a self-signed certificate for localhost when the
// demo has none yet.
func demoCertificate(certFile, keyFile string) error {
	if _, err := os.Stat(certFile); err == nil {
		if _, err := os.Stat(keyFile); err == nil {
			return nil
		}
	}
	certPEM, keyPEM, err := pki.SelfSignedPEM("localhost", "Keystage demo", []string{"localhost", "127.0.0.1"}, time.Now())
	if err != nil {
		return err
	}
	if err := private.WriteFile(keyFile, keyPEM); err != nil {
		return fmt.Errorf("demo portal key: %w", err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return fmt.Errorf("demo portal certificate: %w", err)
	}
	return nil
}
