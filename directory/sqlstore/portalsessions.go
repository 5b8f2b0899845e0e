package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"keystage.dev/keystage/directory"
)

// Portal sessions are operational records, written without audit events:
// the sign-in itself is audited by the portal.

func (s *Store) PutPortalSession(ctx context.Context, x *directory.PortalSession) error {
	if x.ID == "" {
		return errors.New("put portal session: empty id")
	}
	var acct any
	if x.AccountID != 0 {
		acct = x.AccountID
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO portal_sessions (id, account_id, created_at, seen_at, expires_at, passkey, address, user_agent, data)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
		ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, seen_at = excluded.seen_at, expires_at = excluded.expires_at,
		  passkey = excluded.passkey, address = excluded.address, user_agent = excluded.user_agent, data = excluded.data`,
		x.ID, acct, x.CreatedAt.UnixMicro(), x.SeenAt.UnixMicro(), x.ExpiresAt.UnixMicro(), x.Passkey, x.Address, x.UserAgent, x.Data)
	if err != nil {
		return fmt.Errorf("put portal session: %w", mapErr(err))
	}
	return nil
}

func (s *Store) PortalSession(ctx context.Context, id string, now time.Time) (directory.PortalSession, error) {
	var (
		x                      directory.PortalSession
		acct                   sql.NullInt64
		created, seen, expires int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, account_id, created_at, seen_at, expires_at, passkey, address, user_agent, data
		FROM portal_sessions WHERE id = $1 AND expires_at > $2`, id, now.UnixMicro()).
		Scan(&x.ID, &acct, &created, &seen, &expires, &x.Passkey, &x.Address, &x.UserAgent, &x.Data)
	if err != nil {
		return directory.PortalSession{}, fmt.Errorf("portal session: %w", mapErr(err))
	}
	x.AccountID = acct.Int64
	x.CreatedAt, x.SeenAt, x.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(seen).UTC(), time.UnixMicro(expires).UTC()
	return x, nil
}

func (s *Store) DeletePortalSession(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM portal_sessions WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete portal session: %w", err)
	}
	return nil
}

func (s *Store) DeletePortalSessionsOf(ctx context.Context, accountID int64, keep string) (int, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM portal_sessions WHERE account_id = $1 AND id <> $2", accountID, keep)
	if err != nil {
		return 0, fmt.Errorf("end portal sessions of account %d: %w", accountID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (s *Store) PurgePortalSessions(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM portal_sessions WHERE expires_at < $1", before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("purge portal sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
