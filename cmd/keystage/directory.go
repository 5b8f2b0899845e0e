package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

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

// keyring reads the sealing keys and checks them against the sealed
// secrets in r. create makes the key file when it is missing, but only for a
// store that holds no sealed secret yet: a new key could open none of them,
// and what it sealed no other node could open.
func (e *env) keyring(r directory.Reader, create bool) (*passwords.Keyring, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	path := cfg.KeyFile()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if data, err = newKeyFile(e, r, path); err != nil {
			return nil, err
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key file %s does not exist: copy it from a node that serves (it is the same on every node), "+
			"or restore it from its backup; keystage init makes one for a new database", path)
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
	if err := directory.CheckSealer(e.ctx, r, k); err != nil {
		return nil, keyFileMismatch(path, err)
	}
	return k, nil
}

// newKeyFile writes a new key file at path, refusing when r holds sealed
// secrets (they were sealed under another key file, which is the one to
// copy here).
func newKeyFile(e *env, r directory.Reader, path string) ([]byte, error) {
	keys, err := r.SealedKeys(e.ctx)
	if err != nil {
		return nil, fmt.Errorf("key file %s is missing, and the database cannot say whether it holds sealed secrets: %w", path, err)
	}
	if len(keys) > 0 {
		n, ids := 0, []string{}
		for _, k := range keys {
			n += k.Count
			if id, err := passwords.SealedKeyID(k.Sample); err == nil && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return nil, fmt.Errorf("key file %s does not exist, and the database holds %d secret(s) sealed under key id(s) %s: "+
			"copy the key file that holds them from a node that serves (it is the same on every node), or restore it from its backup; "+
			"a new key file could open none of them", path, n, strings.Join(ids, ", "))
	}
	data, err := passwords.GenerateKeyFile()
	if err != nil {
		return nil, err
	}
	if err := private.Replace(path, data); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	e.logger().Info("created a new key file; copy it to every node and back it up apart from the database", "path", path)
	return data, nil
}

// keyFileMismatch says what to do about a key file that cannot open the
// store's secrets.
func keyFileMismatch(path string, err error) error {
	var mis *directory.SealerMismatchError
	if !errors.As(err, &mis) {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	return fmt.Errorf("key file %s: %w. Nothing was changed. Copy the key file that holds them from a node that serves "+
		"(every node uses the same one), or restore it from the backup taken with the database", path, err)
}

// directory puts the directory service together over a store, for a
// command that needs no secrets (see directoryWithKeys).
func (e *env) directory(s directory.Store) *directory.Directory {
	if cfg, err := e.config(); err == nil && cfg.ActiveDirectory.enabled() {
		// Every password set is queued, sealed, for Active Directory: a
		// command that sets one needs the key file. Without it the
		// directory refuses to set a password (directory.ErrNoSealer)
		// rather than set it in Keystage alone.
		k, err := e.keyring(s, false)
		if err == nil {
			return e.directoryWith(s, k)
		}
		e.logger().Debug("no key file for Active Directory's passwords", "err", err)
	}
	return e.directoryWith(s, nil)
}

// directoryWith puts the directory service together with sealer as its
// keyring.
func (e *env) directoryWith(s directory.Store, sealer directory.Sealer) *directory.Directory {
	if e.as != "" {
		// A school's staff act on their school's people only (see scoped).
		// checkActing has resolved --as before the command ran; should it
		// not have, no one is in scope ("-" is no school's id).
		if scoped, err := e.scoped(s); err == nil {
			s = scoped
		} else {
			s = directory.Scoped(s, directory.SchoolScope{School: "-"}, nil)
		}
	}
	return e.trustDirectory(s, sealer)
}

// trustDirectory is the directory service over the whole trust, whoever
// acts: for a job that must see every account (a school's sync keeps
// usernames unique across the trust) after its caller has bounded it.
func (e *env) trustDirectory(s directory.Store, sealer directory.Sealer) *directory.Directory {
	cfg, _ := e.config()
	return directory.New(s, directory.Config{
		Policy:    cfg.AUP.gatePolicy(directory.GatePolicy{Location: cfg.Location(), LeaverGrace: cfg.Sync.policy(cfg.Location()).LeaverGrace}),
		Lockout:   cfg.Lockout.lockout(),
		Hasher:    e.hasher(),
		Sealer:    sealer,
		Policies:  cfg.Passwords.policies(),
		PolicyFor: cfg.policyFor,
		Controls:  cfg.controls(),
		Log:       e.logger(),
		Schools:   cfg.schools(),

		PasswordDownstreams: cfg.passwordDownstreams(),
	})
}

// directoryWithKeys puts the directory service together with the
// keyring, refusing one that cannot open the secrets in s (create: make
// the key file when s holds none).
func (e *env) directoryWithKeys(s directory.Store, create bool) (*directory.Directory, error) {
	k, err := e.keyring(s, create)
	if err != nil {
		return nil, err
	}
	return e.directoryWith(s, k), nil
}
