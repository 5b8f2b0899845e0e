package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/passwords"
)

// serveCheckTimeout bounds how long config check waits for the database.
const serveCheckTimeout = 15 * time.Second

// checkServe looks at what keystage serve will need beyond a valid
// configuration: the files it reads, certificates that match their keys
// and have not expired, the database reachable with a schema this binary
// knows, and the key file and audit signing key able to open and sign
// what the database holds. Every problem is gathered, so that one run
// lists them all; notes are what is fine but worth knowing.
func checkServe(e *env, cfg *Config) (p problems, notes []string) {
	now := time.Now()
	if cfg.LDAP.Enabled && cfg.LDAP.CertFile != "" {
		if !(cfg.LDAP.SelfSigned && missing(cfg.LDAP.CertFile) && missing(cfg.LDAP.KeyFile)) {
			checkKeyPair(&p, "ldap.cert_file and ldap.key_file", cfg.LDAP.CertFile, cfg.LDAP.KeyFile, now)
		}
	}
	if cfg.RADIUS.Enabled && len(cfg.RADIUS.EAP.Methods) > 0 && cfg.RADIUS.EAP.CertFile != "" {
		checkKeyPair(&p, "radius.eap.cert_file and radius.eap.key_file", cfg.RADIUS.EAP.CertFile, cfg.RADIUS.EAP.KeyFile, now)
	}
	if cfg.Portal.Enabled && strings.HasPrefix(cfg.Portal.PublicURL, "https:") {
		checkKeyPair(&p, "portal.tls_cert and portal.tls_key", cfg.Portal.TLSCert, cfg.Portal.TLSKey, now)
	}
	if src := cfg.Sync.Source; src != "" {
		_, path, _ := strings.Cut(src, ":")
		if _, err := os.Stat(path); err != nil {
			p.add("sync.source %s: %v: point it at the MIS export the sync reads", src, plainErr(err))
		}
	}
	for _, f := range cfg.Audit.PublicKeys {
		data, err := os.ReadFile(f)
		if err == nil {
			_, err = audit.ParsePublicKey(data)
		}
		if err != nil {
			p.add("audit.public_keys %s: %v", f, plainErr(err))
		}
	}
	if !cfg.LDAP.Enabled && !cfg.RADIUS.Enabled && !cfg.Portal.Enabled {
		notes = append(notes, "no frontend is enabled: keystage serve has nothing to run until enabled = true under [ldap], [radius] or [portal]")
	}

	// Each key file on its own, whether or not the database answers.
	keyFile, signingKey := cfg.KeyFile(), cfg.SigningKeyFile()
	keyFileOK, signingOK := checkFileParses(&p, "key file", keyFile, func(b []byte) error { _, err := passwords.ParseKeyFile(b); return err }),
		checkFileParses(&p, "audit signing key", signingKey, func(b []byte) error { _, err := audit.ParseSigningKey(b); return err })

	ctx, cancel := context.WithTimeout(e.ctx, serveCheckTimeout)
	defer cancel()
	s, note, err := openForCheck(ctx, cfg)
	if note != "" {
		notes = append(notes, note)
	}
	if err != nil {
		p.add("%v", err)
		return p, notes
	}
	if s == nil { // no database yet: serve makes it, and the keys with it
		return p, notes
	}
	defer s.Close()
	if keyFileOK {
		if _, err := e.keyring(s, false); err != nil {
			p.add("%v", err)
		}
	} else if missing(keyFile) {
		switch keys, err := s.SealedKeys(ctx); {
		case err != nil:
			p.add("database: %v", err)
		case len(keys) > 0:
			_, err := newKeyFile(e, s, keyFile) // refuses, saying what to copy
			p.add("%v", err)
		default:
			notes = append(notes, fmt.Sprintf("key file %s does not exist yet: keystage init (or the first keystage serve) makes it", keyFile))
		}
	}
	if signingOK {
		if _, err := e.signer(s, false); err != nil {
			p.add("%v", err)
		}
	} else if missing(signingKey) {
		switch last, err := s.LastCheckpoint(ctx); {
		case err == nil:
			p.add("audit signing key %s does not exist, and the audit trail is signed by key %s: copy audit-signing.key from a node that serves, or restore it from its backup", signingKey, last.KeyID)
		case !errors.Is(err, directory.ErrNotFound):
			p.add("database: %v", err)
		}
	}
	return p, notes
}

// openForCheck opens the configured database to read it, without taking
// SQLite's writer lock (a server may be running) and without migrating. A
// SQLite database not made yet is no problem: s is nil and note says so.
func openForCheck(ctx context.Context, cfg *Config) (s *sqlstore.Store, note string, err error) {
	u := cfg.DatabaseURL()
	if sqlstore.DialectOf(u) == sqlstore.SQLite {
		path := sqlstore.SQLitePath(u)
		dir := filepath.Dir(path)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, "", fmt.Errorf("data directory %s does not exist: create it (keystage init does), or set data_dir", dir)
		}
		if missing(path) {
			return nil, fmt.Sprintf("database %s does not exist yet: keystage init (or the first keystage serve) makes it", path), nil
		}
	}
	s, err = sqlstore.Open(ctx, sqlstore.Config{URL: u, ReadOnly: true, StatusOnly: true, MaxConns: 2})
	if err != nil {
		return nil, "", fmt.Errorf("database %s cannot be reached: %v: check database.url, and that the database server runs and lets this host in", redactURL(u), err)
	}
	cur, target, err := s.SchemaVersions(ctx)
	switch {
	case err != nil:
		s.Close()
		return nil, "", fmt.Errorf("database %s: %v", redactURL(u), err)
	case cur > target:
		s.Close()
		return nil, "", fmt.Errorf("database %s is at schema version %d, and this keystage knows up to %d: %v; upgrade keystage on this node",
			redactURL(u), cur, target, directory.ErrSchemaAhead)
	case cur == 0:
		s.Close()
		return nil, fmt.Sprintf("database %s is empty: keystage init (or the first keystage serve) makes its schema", redactURL(u)), nil
	case cur < target:
		note = fmt.Sprintf("database %s is at schema version %d: keystage serve (or keystage migrate up) brings it to %d", redactURL(u), cur, target)
	default:
		note = fmt.Sprintf("database %s reachable, schema version %d", redactURL(u), cur)
	}
	return s, note, nil
}

// checkKeyPair reports a certificate and key that cannot be read, do not
// match, or are out of date.
func checkKeyPair(p *problems, what, certFile, keyFile string, now time.Time) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		p.add("%s (%s, %s): %v", what, certFile, keyFile, plainErr(err))
		return
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		p.add("%s: %s: %v", what, certFile, err)
		return
	}
	switch {
	case now.After(leaf.NotAfter):
		p.add("%s: the certificate in %s expired on %s: renew it", what, certFile, leaf.NotAfter.Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		p.add("%s: the certificate in %s is not valid before %s: check the clock, or the certificate", what, certFile, leaf.NotBefore.Format(time.DateOnly))
	}
}

// checkFileParses reports a file that exists but cannot be read or parsed;
// it returns whether the file is there and good.
func checkFileParses(p *problems, what, path string, parse func([]byte) error) bool {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err == nil {
		err = parse(data)
	}
	if err != nil {
		p.add("%s %s: %v", what, path, plainErr(err))
		return false
	}
	return true
}

func missing(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// plainErr drops the operation and path a *fs.PathError repeats.
func plainErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
