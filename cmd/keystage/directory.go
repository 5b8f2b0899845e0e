package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/private"
)

// hasher is the login-password hasher with the configured cost.
func (e *env) hasher() *passwords.Hasher {
	p := passwords.DefaultArgon2Params()
	if cfg, err := e.config(); err == nil {
		a := cfg.Passwords.Argon2
		p.Memory, p.Iterations, p.Parallelism = a.MemoryKiB, a.Iterations, a.Parallelism
	}
	return &passwords.Hasher{Params: p}
}

// policies are the configured password policies.
func (e *env) policies() map[string]passwords.Policy {
	if cfg, err := e.config(); err == nil {
		return cfg.Passwords.policies()
	}
	return passwords.DefaultPolicies()
}

// keyring reads the sealing keys; create makes the key file when it is
// missing (the first start of a server or the demo).
func (e *env) keyring(create bool) (*passwords.Keyring, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	path := cfg.KeyFile()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if data, err = passwords.GenerateKeyFile(); err != nil {
			return nil, err
		}
		if err := private.WriteFile(path, data); err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		e.logger().Info("created a new key file; back it up apart from the database", "path", path)
	} else if err != nil {
		return nil, fmt.Errorf("key file %s: %w (set secrets.key_file, or KEYSTAGE_KEY_FILE)", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		e.logger().Warn("key file is readable by others: chmod 600 it", "path", path)
	}
	k, err := passwords.ParseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// directory puts the directory service together over a store. The keyring
// is loaded when the command needs secrets (see withKeys).
func (e *env) directory(s directory.Store) *directory.Directory {
	cfg, _ := e.config()
	return directory.New(s, directory.Config{
		Policy: cfg.AUP.gatePolicy(directory.GatePolicy{Location: cfg.Location(), LeaverGrace: cfg.Sync.policy(cfg.Location()).LeaverGrace}),
		Lockout: directory.Lockout{Threshold: cfg.Lockout.Threshold, Window: cfg.Lockout.Window.Duration,
			Base: cfg.Lockout.Base.Duration, Max: cfg.Lockout.Max.Duration},
		Hasher:    e.hasher(),
		Policies:  cfg.Passwords.policies(),
		PolicyFor: cfg.Passwords.policyFor,
		Log:       e.logger(),
	})
}

// withKeys loads the keyring into d.
func (e *env) withKeys(d *directory.Directory, create bool) error {
	k, err := e.keyring(create)
	if err != nil {
		return err
	}
	d.Sealer = k
	return nil
}
