package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"keystage.dev/keystage/directory"
)

func (s *Store) NoteUse(ctx context.Context, accountID int64, svc directory.Service, t time.Time) error {
	_, err := s.reader.q.ExecContext(ctx, `INSERT INTO usage (account_id, service, last_at) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, service) DO UPDATE SET last_at = excluded.last_at WHERE usage.last_at < excluded.last_at`,
		accountID, string(svc), t.UnixMicro())
	if err != nil {
		return fmt.Errorf("note use of %s by account %d: %w", svc, accountID, err)
	}
	return nil
}

func (s *Store) NoteUses(ctx context.Context, svc directory.Service, uses map[int64]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("note uses of %s: %w", svc, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO usage (account_id, service, last_at)
		SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
		ON CONFLICT (account_id, service) DO UPDATE SET last_at = excluded.last_at WHERE usage.last_at < excluded.last_at`)
	if err != nil {
		return fmt.Errorf("note uses of %s: %w", svc, err)
	}
	defer stmt.Close()
	for id, t := range uses {
		if _, err := stmt.ExecContext(ctx, id, string(svc), t.UnixMicro()); err != nil {
			return fmt.Errorf("note uses of %s: account %d: %w", svc, id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("note uses of %s: %w", svc, err)
	}
	return nil
}

func (s *Store) LastUse(ctx context.Context, accountID int64) (map[directory.Service]time.Time, error) {
	rows, err := s.reader.q.QueryContext(ctx, "SELECT service, last_at FROM usage WHERE account_id = $1", accountID)
	if err != nil {
		return nil, fmt.Errorf("last use of account %d: %w", accountID, err)
	}
	defer rows.Close()
	out := map[directory.Service]time.Time{}
	for rows.Next() {
		var svc string
		var at int64
		if err := rows.Scan(&svc, &at); err != nil {
			return nil, err
		}
		out[directory.Service(svc)] = time.UnixMicro(at).UTC()
	}
	return out, rows.Err()
}

func (s *Store) AccountCounts(ctx context.Context) ([]directory.AccountCount, error) {
	rows, err := s.reader.q.QueryContext(ctx, "SELECT role, status, COUNT(*) FROM accounts GROUP BY role, status ORDER BY role, status")
	if err != nil {
		return nil, fmt.Errorf("account counts: %w", err)
	}
	defer rows.Close()
	var out []directory.AccountCount
	for rows.Next() {
		var c directory.AccountCount
		if err := rows.Scan(&c.Role, &c.Status, &c.N); err != nil {
			return nil, fmt.Errorf("account counts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) MissingConsents(ctx context.Context) (int, error) {
	var n int
	err := s.reader.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts a WHERE a.role = $1 AND a.status = $2
		AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.account_id = a.id AND c.withdrawn_at IS NULL AND c.decision = 'agreed')`,
		string(directory.RolePupil), string(directory.StatusActive)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("missing consents: %w", err)
	}
	return n, nil
}

func (s *Store) RecentFailures(ctx context.Context, since time.Time, minCount, limit int) ([]directory.FailureCounter, error) {
	rows, err := s.reader.q.QueryContext(ctx, `SELECT key, count, last_at FROM auth_failures
		WHERE last_at >= $1 AND count >= $2 ORDER BY last_at DESC, key LIMIT $3`, since.UnixMicro(), minCount, limit)
	if err != nil {
		return nil, fmt.Errorf("recent failures: %w", err)
	}
	defer rows.Close()
	var out []directory.FailureCounter
	for rows.Next() {
		var c directory.FailureCounter
		var at int64
		if err := rows.Scan(&c.Key, &c.Count, &at); err != nil {
			return nil, fmt.Errorf("recent failures: %w", err)
		}
		c.LastAt = time.UnixMicro(at).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) NoteNASHeard(ctx context.Context, heard map[string]time.Time) error {
	if len(heard) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("note NAS heard: %w", err)
	}
	defer tx.Rollback()
	for name, t := range heard {
		if _, err := tx.ExecContext(ctx, `INSERT INTO nas_heard (nas_name, last_at) VALUES ($1, $2)
			ON CONFLICT (nas_name) DO UPDATE SET last_at = excluded.last_at WHERE nas_heard.last_at < excluded.last_at`,
			name, t.UnixMicro()); err != nil {
			return fmt.Errorf("note NAS %s heard: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("note NAS heard: %w", err)
	}
	return nil
}

func (s *Store) NASHeard(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.reader.q.QueryContext(ctx, "SELECT nas_name, last_at FROM nas_heard")
	if err != nil {
		return nil, fmt.Errorf("NAS heard: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			return nil, fmt.Errorf("NAS heard: %w", err)
		}
		out[name] = time.UnixMicro(at).UTC()
	}
	return out, rows.Err()
}

// Dormant joins each active account to its usage rows: it reads every
// active account, which suits a periodic review, not a hot path.
func (s *Store) Dormant(ctx context.Context, before time.Time, limit int) ([]directory.AccountUse, error) {
	q := `SELECT a.id, a.username, COALESCE(MAX(u.last_at), 0) FROM accounts a
		LEFT JOIN usage u ON u.account_id = a.id
		WHERE a.status = $1 AND a.created_at < $2
		GROUP BY a.id, a.username
		HAVING COALESCE(MAX(u.last_at), 0) < $2
		ORDER BY a.id`
	args := []any{string(directory.StatusActive), before.UnixMicro()}
	if limit > 0 {
		q += " LIMIT $3"
		args = append(args, limit)
	}
	rows, err := s.reader.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("dormant accounts: %w", err)
	}
	defer rows.Close()
	var out []directory.AccountUse
	for rows.Next() {
		var u directory.AccountUse
		var at int64
		if err := rows.Scan(&u.AccountID, &u.Username, &at); err != nil {
			return nil, fmt.Errorf("dormant accounts: %w", err)
		}
		if at != 0 {
			u.LastUse = time.UnixMicro(at).UTC()
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dormant accounts: %w", err)
	}
	return out, nil
}

// NoteFailure counts failures in a window that starts at the first failure
// and restarts once it has passed. A fingerprint seen under key within the
// window is a password already tried: the count stays as it is.
func (s *Store) NoteFailure(ctx context.Context, key string, t time.Time, window time.Duration, fingerprint string) (int, error) {
	now, cutoff := t.UnixMicro(), t.Add(-window).UnixMicro()
	if fingerprint != "" {
		res, err := s.reader.q.ExecContext(ctx, `INSERT INTO auth_failure_secrets (key, fp, at) VALUES ($1, $2, $3)
			ON CONFLICT (key, fp) DO UPDATE SET at = excluded.at WHERE auth_failure_secrets.at < $4`, key, fingerprint, now, cutoff)
		if err != nil {
			return 0, fmt.Errorf("note failure: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			n, _, err := s.Failures(ctx, key, t, window)
			return n, err
		}
	}
	var n int
	err := s.reader.q.QueryRowContext(ctx, `INSERT INTO auth_failures (key, count, first_at, last_at) VALUES ($1, 1, $2, $2)
		ON CONFLICT (key) DO UPDATE SET
		  count = CASE WHEN auth_failures.last_at < $3 THEN 1 ELSE auth_failures.count + 1 END,
		  first_at = CASE WHEN auth_failures.last_at < $3 THEN excluded.first_at ELSE auth_failures.first_at END,
		  last_at = excluded.last_at
		RETURNING count`, key, now, cutoff).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("note failure: %w", err)
	}
	return n, nil
}

func (s *Store) Failures(ctx context.Context, key string, t time.Time, window time.Duration) (int, time.Time, error) {
	var n int
	var last int64
	err := s.reader.q.QueryRowContext(ctx, "SELECT count, last_at FROM auth_failures WHERE key = $1", key).Scan(&n, &last)
	if err == sql.ErrNoRows {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("failures: %w", err)
	}
	lastT := time.UnixMicro(last).UTC()
	if lastT.Before(t.Add(-window)) {
		return 0, time.Time{}, nil
	}
	return n, lastT, nil
}

func (s *Store) ClearFailures(ctx context.Context, key string) error {
	if _, err := s.reader.q.ExecContext(ctx, "DELETE FROM auth_failures WHERE key = $1", key); err != nil {
		return fmt.Errorf("clear failures: %w", err)
	}
	if _, err := s.reader.q.ExecContext(ctx, "DELETE FROM auth_failure_secrets WHERE key = $1", key); err != nil {
		return fmt.Errorf("clear failures: %w", err)
	}
	return nil
}

func (s *Store) PruneFailures(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.reader.q.ExecContext(ctx, "DELETE FROM auth_failures WHERE last_at < $1", before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("prune failures: %w", err)
	}
	if _, err := s.reader.q.ExecContext(ctx, "DELETE FROM auth_failure_secrets WHERE at < $1", before.UnixMicro()); err != nil {
		return 0, fmt.Errorf("prune failures: %w", err)
	}
	return res.RowsAffected()
}

func (s *Store) NoteFamiliar(ctx context.Context, accountID int64, source string, t time.Time, keep int) error {
	_, err := s.reader.q.ExecContext(ctx, `INSERT INTO familiar_sources (account_id, source, last_at) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, source) DO UPDATE SET last_at = excluded.last_at WHERE familiar_sources.last_at < excluded.last_at`,
		accountID, source, t.UnixMicro())
	if err != nil {
		return fmt.Errorf("note familiar source of account %d: %w", accountID, err)
	}
	// A phone that randomises its MAC address makes a new source on every
	// network: only the most recent few are kept.
	_, err = s.reader.q.ExecContext(ctx, `DELETE FROM familiar_sources WHERE account_id = $1 AND source NOT IN
		(SELECT source FROM familiar_sources WHERE account_id = $1 ORDER BY last_at DESC, source LIMIT $2)`, accountID, keep)
	if err != nil {
		return fmt.Errorf("note familiar source of account %d: %w", accountID, err)
	}
	return nil
}

func (s *Store) Familiar(ctx context.Context, accountID int64, source string) (time.Time, error) {
	var last int64
	err := s.reader.q.QueryRowContext(ctx, "SELECT last_at FROM familiar_sources WHERE account_id = $1 AND source = $2",
		accountID, source).Scan(&last)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("familiar source of account %d: %w", accountID, err)
	}
	return time.UnixMicro(last).UTC(), nil
}

const sessCols = `id, account_id, username, nas_name, nas_address, session_id, calling_station, called_station, framed_ip,
 started_at, updated_at, stopped_at, input_bytes, output_bytes, terminate_cause`

func (s *Store) PutSession(ctx context.Context, x *directory.Session) error {
	var acct any
	if x.AccountID != 0 {
		acct = x.AccountID
	}
	if x.UpdatedAt.IsZero() {
		x.UpdatedAt = time.Now()
	}
	err := s.reader.q.QueryRowContext(ctx, `INSERT INTO sessions (account_id, username, nas_name, nas_address, session_id, calling_station,
		called_station, framed_ip, started_at, updated_at, stopped_at, input_bytes, output_bytes, terminate_cause)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
		ON CONFLICT (nas_address, session_id) DO UPDATE SET
		  updated_at = excluded.updated_at,
		  stopped_at = COALESCE(excluded.stopped_at, sessions.stopped_at),
		  input_bytes = CASE WHEN excluded.input_bytes > sessions.input_bytes THEN excluded.input_bytes ELSE sessions.input_bytes END,
		  output_bytes = CASE WHEN excluded.output_bytes > sessions.output_bytes THEN excluded.output_bytes ELSE sessions.output_bytes END,
		  framed_ip = CASE WHEN excluded.framed_ip <> '' THEN excluded.framed_ip ELSE sessions.framed_ip END,
		  terminate_cause = CASE WHEN excluded.terminate_cause <> '' THEN excluded.terminate_cause ELSE sessions.terminate_cause END
		RETURNING id`,
		acct, x.Username, x.NASName, x.NASAddress, x.SessionID, x.CallingStation, x.CalledStation, x.FramedIP,
		x.StartedAt.UnixMicro(), x.UpdatedAt.UnixMicro(), tm(x.StoppedAt), x.InputBytes, x.OutputBytes, x.TerminateCause).Scan(&x.ID)
	if err != nil {
		return fmt.Errorf("put session %s: %w", x.SessionID, err)
	}
	return nil
}

func (s *Store) Sessions(ctx context.Context, accountID int64, since time.Time, live bool) ([]directory.Session, error) {
	q := "SELECT " + sessCols + " FROM sessions WHERE account_id = $1 AND started_at >= $2"
	if live {
		q += " AND stopped_at IS NULL"
	}
	rows, err := s.reader.q.QueryContext(ctx, q+" ORDER BY started_at DESC, id DESC", accountID, since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sessions of account %d: %w", accountID, err)
	}
	return scanSessions(rows)
}

func (s *Store) SessionsAt(ctx context.Context, ip string, t time.Time) ([]directory.Session, error) {
	rows, err := s.reader.q.QueryContext(ctx, "SELECT "+sessCols+` FROM sessions
		WHERE framed_ip = $1 AND started_at <= $2 AND (stopped_at IS NULL OR stopped_at >= $2)
		ORDER BY started_at DESC, id DESC`, ip, t.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sessions at address %s: %w", ip, err)
	}
	return scanSessions(rows)
}

func scanSessions(rows *sql.Rows) ([]directory.Session, error) {
	defer rows.Close()
	var out []directory.Session
	for rows.Next() {
		var (
			x                directory.Session
			acct, stopped    sql.NullInt64
			started, updated int64
		)
		if err := rows.Scan(&x.ID, &acct, &x.Username, &x.NASName, &x.NASAddress, &x.SessionID, &x.CallingStation, &x.CalledStation,
			&x.FramedIP, &started, &updated, &stopped, &x.InputBytes, &x.OutputBytes, &x.TerminateCause); err != nil {
			return nil, err
		}
		x.AccountID = acct.Int64
		x.StartedAt, x.UpdatedAt, x.StoppedAt = time.UnixMicro(started).UTC(), time.UnixMicro(updated).UTC(), fromMicros(stopped)
		out = append(out, x)
	}
	return out, rows.Err()
}

func (s *Store) CloseNASSessions(ctx context.Context, nasAddress string, t time.Time, cause string) (int, error) {
	res, err := s.reader.q.ExecContext(ctx, `UPDATE sessions SET stopped_at = $1, updated_at = $1, terminate_cause = $2
		WHERE nas_address = $3 AND stopped_at IS NULL`, t.UnixMicro(), cause, nasAddress)
	if err != nil {
		return 0, fmt.Errorf("close sessions of NAS %s: %w", nasAddress, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func (s *Store) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	res, err := s.reader.q.ExecContext(ctx, "DELETE FROM sessions WHERE stopped_at IS NOT NULL AND stopped_at < $1", before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("purge sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
