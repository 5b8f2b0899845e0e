package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/server"
	"keystage.dev/keystage/siem"
)

// siemFeed makes the destinations once (nil: none is configured). Their
// own failures are logged to the log as it was before any tee, so that a
// failing collector does not queue its own warnings.
func (e *env) siemFeed() (*server.SIEMFeed, error) {
	if e.siem != nil {
		return e.siem, nil
	}
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	f := &server.SIEMFeed{Host: host, Names: map[*siem.Forwarder]string{}, Queue: cfg.SIEM.Queue}
	log := e.logger()
	add := func(list *[]*siem.Forwarder, name string, sink siem.Sink) {
		fw := siem.NewForwarder(name, sink, cfg.SIEM.Queue, log)
		*list = append(*list, fw)
		f.Names[fw] = name
	}
	if cfg.SIEM.Address != "" {
		sink, err := cfg.SIEM.sink()
		if err != nil {
			return nil, err
		}
		add(&f.Events, "syslog "+cfg.SIEM.Address, sink)
	}
	if cfg.SIEM.File != "" {
		add(&f.Events, "file "+cfg.SIEM.File, &siem.File{Path: cfg.SIEM.File, MaxBytes: int64(cfg.SIEM.FileMaxMB) << 20})
	}
	sinks, err := cfg.Audit.Witness.sinks()
	if err != nil {
		return nil, err
	}
	if h, _, err := net.SplitHostPort(cfg.Audit.Witness.Address); err == nil && isLoopbackHost(h) {
		log.Warn("audit.witness.address is on this host: a witness is one the server cannot rewrite, on another host; use this only for a test",
			"address", cfg.Audit.Witness.Address)
	}
	names := make([]string, 0, len(sinks))
	for n := range sinks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add(&f.Witness, n, sinks[n])
	}
	if len(f.Events) == 0 && len(f.Witness) == 0 {
		return nil, nil
	}
	e.siem = f
	return f, nil
}

// teeLog sends the log's lines at siem.log_level or above to the SIEM's
// destinations as well; called before anything takes the logger.
func (e *env) teeLog(cfg *Config) error {
	f, err := e.siemFeed()
	if err != nil || f == nil || len(f.Events) == 0 || cfg.SIEM.LogLevel == "off" {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.SIEM.LogLevel)); err != nil {
		return fmt.Errorf("siem.log_level: %w", err)
	}
	e.log = slog.New(siem.NewLogTee(e.logger().Handler(), func(m siem.Message) {
		for _, fw := range f.Events {
			fw.Offer(m)
		}
	}, level, f.Host))
	return nil
}

// buildSIEMFeed follows the audit trail and its checkpoints and offers
// them to the destinations (nil: none is configured; see server.SIEM).
func buildSIEMFeed(e *env, s directory.Store, cfg *Config) (*server.Frontend, error) {
	f, err := e.siemFeed()
	if err != nil || f == nil {
		return nil, err
	}
	return server.SIEM(s, f, e.logger().With("job", "siem"), filepath.Join(cfg.DataDir, "siem-position.json")), nil
}
