package main

import (
	"path/filepath"
	"time"
)

// AuditSection configures the signed checkpoints of the audit trail.
type AuditSection struct {
	// SigningKeyFile holds the Ed25519 key (PEM PKCS #8) that signs
	// checkpoints, one per trust; made by init or the first start while the
	// trail has no signed checkpoint. Default: DATA/audit-signing.key.
	SigningKeyFile string `toml:"signing_key_file"`
	// PublicKeys are files of further public keys whose checkpoints
	// `audit verify` accepts: the keys used before a rotation.
	PublicKeys []string `toml:"public_keys"`
	// CheckpointInterval is how often keystage serve signs the head of the
	// trail when it has moved.
	CheckpointInterval duration `toml:"checkpoint_interval"`
	// CheckpointEvery signs sooner, once this many events have been
	// recorded since the last checkpoint (0: only by the interval).
	CheckpointEvery int64 `toml:"checkpoint_every"`
	// Witness is where every signed checkpoint is copied as it is made.
	Witness WitnessSection `toml:"witness"`
}

func defaultAudit() AuditSection {
	return AuditSection{CheckpointInterval: duration{10 * time.Minute}, CheckpointEvery: 1000}
}

func (s *AuditSection) validate(p *problems) {
	if s.CheckpointInterval.Duration < time.Second {
		p.add("audit.checkpoint_interval %s: must be at least 1s", s.CheckpointInterval.Duration)
	}
	if s.CheckpointEvery < 0 {
		p.add("audit.checkpoint_every %d: must not be negative", s.CheckpointEvery)
	}
	s.Witness.validate(p)
}

// SigningKeyFile is where the checkpoint signing key is.
func (c *Config) SigningKeyFile() string {
	if c.Audit.SigningKeyFile != "" {
		return c.Audit.SigningKeyFile
	}
	return filepath.Join(c.DataDir, "audit-signing.key")
}

const exampleAudit = `
[audit]
# The audit trail is hash-chained; checkpoints of it are signed with this
# Ed25519 key, so that rewriting the trail in the database is caught by
# keystage audit verify. One per trust, the same file on every node: made by
# keystage init (or the first start) only while the trail has no signed
# checkpoint. Keep a copy of its public key (keystage audit key) where the
# database's administrators cannot change it.
signing_key_file = ""        # default: DATA/audit-signing.key
public_keys = []             # files of earlier public keys still trusted after a rotation
checkpoint_interval = "10m"  # keystage serve signs the head this often when it has moved
checkpoint_every = 1000      # … or once this many events are unsigned
` + exampleWitness
