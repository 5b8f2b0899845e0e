package sqlstore

import (
	"context"
	"fmt"
	"time"

	"keystage.dev/keystage/directory"
)

func (r reader) PendingPasswords(ctx context.Context, downstream string, limit int) ([]directory.PendingPassword, error) {
	q := `SELECT id, downstream, account_id, sealed, key_id, must_change, created_at, attempts, last_error
		FROM downstream_passwords WHERE downstream = $1 ORDER BY id`
	args := []any{downstream}
	if limit > 0 {
		q += " LIMIT $2"
		args = append(args, limit)
	}
	rows, err := r.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pending passwords for %s: %w", downstream, err)
	}
	defer rows.Close()
	var out []directory.PendingPassword
	for rows.Next() {
		var (
			p       directory.PendingPassword
			created int64
		)
		if err := rows.Scan(&p.ID, &p.Downstream, &p.AccountID, &p.Sealed, &p.KeyID, &p.MustChange, &created, &p.Attempts, &p.LastError); err != nil {
			return nil, fmt.Errorf("pending passwords for %s: %w", downstream, err)
		}
		p.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

func (t *tx) PutPendingPassword(ctx context.Context, p *directory.PendingPassword) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	if _, err := t.exec(ctx, "DELETE FROM downstream_passwords WHERE downstream = $1 AND account_id = $2", p.Downstream, p.AccountID); err != nil {
		return fmt.Errorf("pending password for account %d: %w", p.AccountID, err)
	}
	id, err := t.insert(ctx, `INSERT INTO downstream_passwords (downstream, account_id, sealed, key_id, must_change, created_at, attempts, last_error)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`, p.Downstream, p.AccountID, p.Sealed, p.KeyID, p.MustChange, p.CreatedAt.UnixMicro(), p.Attempts, p.LastError)
	if err != nil {
		return fmt.Errorf("pending password for account %d: %w", p.AccountID, err)
	}
	p.ID = id
	return nil
}

func (t *tx) DeletePendingPassword(ctx context.Context, id int64) error {
	if _, err := t.exec(ctx, "DELETE FROM downstream_passwords WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete pending password %d: %w", id, err)
	}
	return nil
}

func (t *tx) NotePendingPasswordFailure(ctx context.Context, id int64, msg string) error {
	if _, err := t.exec(ctx, "UPDATE downstream_passwords SET attempts = attempts + 1, last_error = $1 WHERE id = $2", msg, id); err != nil {
		return fmt.Errorf("note pending password %d: %w", id, err)
	}
	return nil
}
