package main

import (
	"fmt"
	"log/slog"
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
// MIS sync and the leaver job, and the auditors' exports (see
// server.Portal), with the demo's hints.
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
	f, err := server.Portal(d, cfg.portalSettings(d, e.logger()))
	if err != nil {
		return nil, err
	}
	scheme := "https"
	if !strings.HasPrefix(pc.PublicURL, "https:") {
		scheme = "http"
	}
	addr := f.Addrs[0]
	f.Hints = []string{
		"open " + pc.PublicURL + " in a browser (the demo certificate is self-signed: accept it once)",
		"curl -sk " + scheme + "://" + addr + "/signin | grep -o '<title>[^<]*</title>'",
	}
	if pc.demoCert {
		for _, r := range demoPortalRoles {
			if a, err := d.Store().AccountByMISID(e.ctx, r.mis); err == nil {
				f.Hints = append(f.Hints, fmt.Sprintf("%-12s %-14s password %s", r.role, a.Username, demoStaffPassword))
			}
		}
	}
	return f, nil
}

// portalSettings are the portal's typed settings, from [portal],
// [passwords.first], [review] and [sync] (its jobs over d); log takes the
// portal's log.
func (cfg *Config) portalSettings(d *directory.Directory, log *slog.Logger) server.PortalConfig {
	pc := cfg.Portal
	pcfg := pc.portalConfig(cfg.School, cfg.Location())
	if len(cfg.Schools) > 0 {
		pcfg.SchoolNames = map[string]string{}
		for _, sc := range cfg.Schools {
			pcfg.SchoolNames[sc.ID] = sc.Name
		}
	}
	pcfg.Branding = cfg.brands
	pcfg.FirstPasswords = cfg.Passwords.First.portal()
	pcfg.Log = log.With("frontend", "portal")
	pcfg.Review = cfg.reviewPolicy()
	return server.PortalConfig{
		Portal: pcfg,
		Services: portal.Services{Lifecycle: portal.JobsLifecycle(newJobs(d, cfg, log.With("frontend", "portal"))),
			Exports: directory.Exports{D: d, Location: cfg.Location()}},
		Listen:  pc.Listen,
		TLS:     strings.HasPrefix(pc.PublicURL, "https:"),
		TLSCert: pc.TLSCert, TLSKey: pc.TLSKey,
	}
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
