package sqlstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"keystage.dev/keystage/audit"
)

func (s *Store) AddCheckpoint(ctx context.Context, c audit.Checkpoint) error {
	_, err := s.db.ExecContext(ctx, "INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES ($1,$2,$3,$4,$5)",
		c.Seq, c.Hash, c.Time.UnixMicro(), c.KeyID, base64.StdEncoding.EncodeToString(c.Signature))
	if err != nil {
		return fmt.Errorf("checkpoint at event %d: %w", c.Seq, mapErr(err))
	}
	return nil
}

func scanCheckpoint(sc scanner) (audit.Checkpoint, error) {
	var (
		c   audit.Checkpoint
		at  int64
		sig string
	)
	if err := sc.Scan(&c.Seq, &c.Hash, &at, &c.KeyID, &sig); err != nil {
		return c, mapErr(err)
	}
	c.Time = time.UnixMicro(at).UTC()
	// A signature that is not base64 is kept as its bytes, so that it fails
	// verification rather than the listing.
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		b = []byte(sig)
	}
	c.Signature = b
	return c, nil
}

const checkpointCols = "seq, hash, at, key_id, signature"

func (s *Store) Checkpoints(ctx context.Context, afterSeq int64, limit int) ([]audit.Checkpoint, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM audit_checkpoints WHERE seq > $1 ORDER BY seq LIMIT %d", checkpointCols, limit), afterSeq)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		c, err := scanCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("checkpoints: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) LastCheckpoint(ctx context.Context) (audit.Checkpoint, error) {
	c, err := scanCheckpoint(s.db.QueryRowContext(ctx, "SELECT "+checkpointCols+" FROM audit_checkpoints ORDER BY seq DESC LIMIT 1"))
	if err != nil {
		return c, fmt.Errorf("last checkpoint: %w", err)
	}
	return c, nil
}
