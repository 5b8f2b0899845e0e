package main

import "keystage.dev/keystage/directory"

// buildLDAP makes the LDAP frontend when the configuration enables it.
func buildLDAP(e *env, d *directory.Directory, cfg *Config) (*frontend, error) {
	return nil, nil
}
