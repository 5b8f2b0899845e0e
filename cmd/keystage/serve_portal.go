package main

import "keystage.dev/keystage/directory"

// buildPortal makes the Portal frontend when the configuration enables it.
func buildPortal(e *env, d *directory.Directory, cfg *Config) (*frontend, error) {
	return nil, nil
}
