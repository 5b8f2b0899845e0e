package main

import "keystage.dev/keystage/directory"

// buildRADIUS makes the RADIUS frontend when the configuration enables it.
func buildRADIUS(e *env, d *directory.Directory, cfg *Config) (*frontend, error) {
	return nil, nil
}
