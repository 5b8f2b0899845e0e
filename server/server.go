// Package server is the running Keystage server: it takes the settings
// already read and checked, the opened store and the directory, and serves
// the frontends (LDAP, RADIUS, the portal, the web filter, the SIEM feed),
// their metrics and health check, and the scheduled jobs and loops, until
// its context ends.
//
// It must not read flags, environment variables or the configuration
// file: cmd/keystage does that, and hands over typed settings.
package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// Frontend is one server, loop or job that Run serves until its context
// ends.
type Frontend struct {
	Name  string
	Addrs []string // where it listens, for the log
	Hints []string // commands that work against it, printed by the demo
	// Setup is steps to try it with a system service on this machine
	// (nslcd), printed by the demo after the hints.
	Setup []string
	// Close releases what the builder opened (listeners), for a frontend
	// that is built but never served (demo --no-serve).
	Close func() error
	// Metrics registers the frontend's collectors (nil: none).
	Metrics func(reg prometheus.Registerer) error
	Serve   func(ctx context.Context) error
}

// Run serves every frontend until ctx ends (keystage serve: SIGINT or
// SIGTERM), then shuts each down gracefully; one failing stops the rest.
func Run(ctx context.Context, log *slog.Logger, fes []Frontend) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, f := range fes {
		log.Info("serving", "frontend", f.Name, "addrs", f.Addrs)
		g.Go(func() error {
			if err := f.Serve(ctx); err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
			return nil
		})
	}
	err := g.Wait()
	log.Info("stopped")
	return err
}
