package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"keystage.dev/keystage/directory"
)

const credCols = "id, account_id, kind, name, secret, key_id, created_at, expires_at, revoked_at, last_used"

func scanCredential(s scanner) (directory.Credential, error) {
	var (
		c                      directory.Credential
		kind                   string
		created                int64
		expires, revoked, used sql.NullInt64
	)
	if err := s.Scan(&c.ID, &c.AccountID, &kind, &c.Name, &c.Secret, &c.KeyID, &created, &expires, &revoked, &used); err != nil {
		return c, mapErr(err)
	}
	c.Kind = directory.CredentialKind(kind)
	c.CreatedAt = time.UnixMicro(created).UTC()
	c.ExpiresAt, c.RevokedAt, c.LastUsed = fromMicros(expires), fromMicros(revoked), fromMicros(used)
	return c, nil
}

func (r reader) Credentials(ctx context.Context, accountID int64, kind directory.CredentialKind) ([]directory.Credential, error) {
	return queryAll(ctx, r.q, fmt.Sprintf("credentials of account %d", accountID), scanCredential,
		"SELECT "+credCols+" FROM credentials WHERE account_id = $1 AND kind = $2 ORDER BY id DESC", accountID, string(kind))
}

func (t *tx) AddCredential(ctx context.Context, c *directory.Credential) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	id, err := t.insert(ctx, `INSERT INTO credentials (account_id, kind, name, secret, key_id, created_at, expires_at, revoked_at, last_used)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, c.AccountID, string(c.Kind), c.Name, c.Secret, c.KeyID,
		c.CreatedAt.UnixMicro(), tm(c.ExpiresAt), tm(c.RevokedAt), tm(c.LastUsed))
	if err != nil {
		return fmt.Errorf("add %s credential for account %d: %w", c.Kind, c.AccountID, err)
	}
	c.ID = id
	return nil
}

func (t *tx) UpdateCredential(ctx context.Context, id int64, fn func(*directory.Credential) error) (directory.Credential, error) {
	old, err := scanCredential(t.q.QueryRowContext(ctx, "SELECT "+credCols+" FROM credentials WHERE id = $1", id))
	if err != nil {
		return old, fmt.Errorf("credential %d: %w", id, err)
	}
	c := old
	if err := fn(&c); err != nil {
		return old, err
	}
	c.ID, c.AccountID, c.Kind, c.CreatedAt = old.ID, old.AccountID, old.Kind, old.CreatedAt
	if _, err := t.exec(ctx, "UPDATE credentials SET name=$1, secret=$2, key_id=$3, expires_at=$4, revoked_at=$5, last_used=$6 WHERE id=$7",
		c.Name, c.Secret, c.KeyID, tm(c.ExpiresAt), tm(c.RevokedAt), tm(c.LastUsed), c.ID); err != nil {
		return old, fmt.Errorf("update credential %d: %w", id, err)
	}
	return c, nil
}
