package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/server"
)

// frontends builds what the configuration enables; each frontend's builder
// lives in its own file (serve_ldap.go, …).
func (e *env) frontends(s *sqlstore.Store, d *directory.Directory, cfg *Config) ([]server.Frontend, error) {
	var out []server.Frontend
	for _, build := range []func(*env, *directory.Directory, *Config) (*server.Frontend, error){buildNetworkPolicies, buildWebFilter, buildLDAP, buildRADIUS, buildPortal, buildSchedule, buildRetention, buildAD} {
		f, err := build(e, d, cfg)
		if err != nil {
			return nil, err
		}
		if f != nil {
			out = append(out, *f)
		}
	}
	var mon *server.DatabaseMonitor
	if len(out) > 0 {
		c, err := buildCheckpointer(e, s, cfg)
		if err != nil {
			return nil, err
		}
		mon = server.NewDatabaseMonitor(s, e.logger())
		out = append(out, *c, *mon.Frontend(), *server.Records(d))
		if v, ok := d.Store().(*directory.View); ok {
			out = append(out, *server.View(v))
		}
		feed, err := buildSIEMFeed(e, s, cfg)
		if err != nil {
			return nil, err
		}
		if feed != nil {
			out = append(out, *feed)
		}
	}
	m, err := server.MetricsFrontend(cfg.Metrics.Listen, s, d, out, mon)
	if err != nil {
		return nil, err
	}
	if m != nil {
		out = append(out, *m)
	}
	return out, nil
}

func cmdServe(e *env, args []string) error {
	fs := e.newFlags("serve", "[--cpuprofile FILE]")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) of the whole run to `FILE`, for finding where the time goes under load")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	// Before anything takes the logger, so that its warnings reach the SIEM.
	if err := e.teeLog(cfg); err != nil {
		return err
	}
	// On SQLite the server's own lock refuses a second server; commands
	// still write beside it, and the store tells of their commits.
	s, err := e.openStoreWith(sqlstore.Config{Serve: true})
	if err != nil {
		return err
	}
	defer s.Close()
	ring, err := e.keyring(s, true)
	if err != nil {
		return err
	}
	// keys rotate, run beside the server (or on another node), adds a key
	// the server reads when the store tells of the rotation.
	sealer := server.NewReloadingSealer(cfg.KeyFile(), s, e.logger(), ring)
	// The hot paths read through the view: from memory while the change
	// feed is caught up, from the store otherwise.
	view := directory.NewView(s, e.logger())
	d := e.directoryWith(view, sealer)
	if err := sealer.Watch(e.ctx, s); err != nil {
		e.logger().Warn("the store cannot tell of key rotations; the key file is read again only when a secret needs a new key", "err", err)
	}
	// Checked before anything listens: a node with another signing key
	// would sign checkpoints that audit verify elsewhere calls tampering.
	if _, err := e.signer(s, true); err != nil {
		return err
	}
	// The failed sign-ins counted since the last summary go into the audit
	// trail before the store closes.
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), 5*time.Second)
		defer cancel()
		d.Lockout().Flush(ctx, d.Now())
	}()
	fes, err := e.frontends(s, d, cfg)
	if err != nil {
		return err
	}
	if len(fes) == 0 {
		return fmt.Errorf("no frontend is enabled: set enabled = true under [ldap], [radius] or [portal]")
	}
	return server.Run(e.ctx, e.logger(), fes)
}

// startCPUProfile profiles until the returned function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
