package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"keystage.dev/keystage/audit"
)

const eventCols = "seq, at, actor, action, target, before_state, after_state, prev_hash, hash"

func (r reader) AuditEvents(ctx context.Context, afterSeq int64, limit int) ([]audit.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := r.q.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT %d`, eventCols, limit), afterSeq)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	return scanEvents(rows)
}

func (r reader) AuditEventsAbout(ctx context.Context, target string, afterSeq int64, limit int) ([]audit.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := r.q.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM audit_events WHERE target = $1 AND seq > $2 ORDER BY seq LIMIT %d`, eventCols, limit), target, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("audit events about %s: %w", target, err)
	}
	return scanEvents(rows)
}

func (r reader) AuditEventsByAction(ctx context.Context, action string, since time.Time, limit int) ([]audit.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := r.q.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM audit_events WHERE action = $1 AND at >= $2 ORDER BY at, seq LIMIT %d`, eventCols, limit), action, since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("audit events %s: %w", action, err)
	}
	return scanEvents(rows)
}

func scanEvents(rows *sql.Rows) ([]audit.Event, error) {
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var (
			e             audit.Event
			at            int64
			before, after sql.NullString
		)
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &before, &after, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		e.Time = time.UnixMicro(at).UTC()
		if before.Valid {
			e.Before = []byte(before.String)
		}
		if after.Valid {
			e.After = []byte(after.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (r reader) AuditHead(ctx context.Context) (int64, string, error) {
	var (
		seq  int64
		hash string
	)
	err := r.q.QueryRowContext(ctx, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&seq, &hash)
	if err == sql.ErrNoRows {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	return seq, hash, nil
}

func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// Record appends e to the chain. Writers are serialised by Update (SQLite's
// single writer, PostgreSQL's advisory lock), so reading the head and
// appending after it cannot interleave with another writer.
func (t *tx) Record(ctx context.Context, e *audit.Event) error {
	seq, prev, err := t.AuditHead(ctx)
	if err != nil {
		return err
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Seq = seq + 1
	audit.Chain(e, prev)
	if _, err := t.q.ExecContext(ctx, `INSERT INTO audit_events (seq, at, actor, action, target, before_state, after_state, prev_hash, hash)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Target,
		nullJSON(e.Before), nullJSON(e.After), e.PrevHash, e.Hash); err != nil {
		return fmt.Errorf("record audit event %s: %w", e.Action, err)
	}
	t.events++
	t.seqs = append(t.seqs, e.Seq)
	if t.targets == nil {
		t.targets = map[string]bool{}
	}
	t.targets[e.Target] = true
	return nil
}

// PruneAudit deletes the events before firstSeq and their checkpoints.
func (t *tx) PruneAudit(ctx context.Context, firstSeq int64) (int64, error) {
	res, err := t.exec(ctx, "DELETE FROM audit_events WHERE seq < $1", firstSeq)
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	if _, err := t.exec(ctx, "DELETE FROM audit_checkpoints WHERE seq < $1", firstSeq); err != nil {
		return 0, fmt.Errorf("prune audit checkpoints: %w", err)
	}
	return n, nil
}
