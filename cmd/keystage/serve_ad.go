package main

import (
	"context"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/server"
)

// buildAD makes a frontend that runs the Active Directory job on its
// schedule and pushes the passwords waiting, when a domain is configured.
func buildAD(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	if !cfg.ActiveDirectory.enabled() {
		return nil, nil
	}
	log := e.logger().With("frontend", "active-directory")
	sy, err := cfg.ActiveDirectory.sync(d, cfg.School, cfg.schoolNames())
	if err != nil {
		return nil, err
	}
	log.Info("Active Directory follows Keystage", "url", cfg.ActiveDirectory.URL, "every", cfg.ActiveDirectory.Every.Duration,
		"passwords_every", cfg.ActiveDirectory.PasswordsEvery.Duration)
	return &server.Frontend{Name: "active-directory", Serve: func(ctx context.Context) error { return sy.RunSchedule(ctx) }}, nil
}
