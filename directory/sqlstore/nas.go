package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"keystage.dev/keystage/directory"
)

func (r reader) NASClients(ctx context.Context) ([]directory.NASClient, error) {
	rows, err := r.q.QueryContext(ctx, "SELECT id, name, addresses, secret, key_id, vendor, coa_port, school FROM nas_clients ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("NAS clients: %w", err)
	}
	defer rows.Close()
	var out []directory.NASClient
	for rows.Next() {
		var n directory.NASClient
		var addrs string
		if err := rows.Scan(&n.ID, &n.Name, &addrs, &n.Secret, &n.KeyID, &n.Vendor, &n.CoAPort, &n.School); err != nil {
			return nil, err
		}
		if n.Addresses, err = directory.ParsePrefixes(addrs); err != nil {
			return nil, fmt.Errorf("NAS client %s: %w", n.Name, err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (t *tx) PutNASClient(ctx context.Context, n *directory.NASClient) error {
	if len(n.Addresses) == 0 {
		return fmt.Errorf("NAS client %s: no addresses", n.Name)
	}
	id, err := t.insert(ctx, `INSERT INTO nas_clients (name, addresses, secret, key_id, vendor, coa_port, school) VALUES ($1,$2,$3,$4,$5,$6,$7)
		ON CONFLICT (name) DO UPDATE SET addresses = excluded.addresses, secret = excluded.secret,
		key_id = excluded.key_id, vendor = excluded.vendor, coa_port = excluded.coa_port,
		school = excluded.school`,
		n.Name, directory.FormatPrefixes(n.Addresses), n.Secret, n.KeyID, n.Vendor, n.CoAPort, n.School)
	if err != nil {
		return fmt.Errorf("put NAS client %s: %w", n.Name, err)
	}
	n.ID = id
	return nil
}

func (t *tx) DeleteNASClient(ctx context.Context, id int64) error {
	if _, err := t.exec(ctx, "DELETE FROM nas_clients WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete NAS client %d: %w", id, err)
	}
	return nil
}

func (r reader) SyncRuns(ctx context.Context, kind string, limit int) ([]directory.SyncRun, error) {
	if limit <= 0 {
		limit = 100
	}
	// An empty kind lists every kind (the portal's recent runs).
	rows, err := r.q.QueryContext(ctx, fmt.Sprintf(`SELECT id, kind, source, started_at, finished_at, applied, counts, rows_read, watermark, actor
		FROM sync_runs WHERE kind = $1 OR $1 = '' ORDER BY id DESC LIMIT %d`, limit), kind)
	if err != nil {
		return nil, fmt.Errorf("sync runs: %w", err)
	}
	defer rows.Close()
	var out []directory.SyncRun
	for rows.Next() {
		var (
			s       directory.SyncRun
			started int64
			fin     sql.NullInt64
			counts  string
		)
		if err := rows.Scan(&s.ID, &s.Kind, &s.Source, &started, &fin, &s.Applied, &counts, &s.Rows, &s.Watermark, &s.Actor); err != nil {
			return nil, err
		}
		s.StartedAt = time.UnixMicro(started).UTC()
		s.FinishedAt = fromMicros(fin)
		if err := json.Unmarshal([]byte(counts), &s.Counts); err != nil {
			return nil, fmt.Errorf("sync run %d counts: %w", s.ID, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *tx) AddSyncRun(ctx context.Context, s *directory.SyncRun) error {
	counts, err := json.Marshal(s.Counts)
	if err != nil {
		return err
	}
	if s.Counts == nil {
		counts = []byte("{}")
	}
	id, err := t.insert(ctx, `INSERT INTO sync_runs (kind, source, started_at, finished_at, applied, counts, rows_read, watermark, actor)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, s.Kind, s.Source, s.StartedAt.UnixMicro(), tm(s.FinishedAt), s.Applied,
		string(counts), s.Rows, s.Watermark, s.Actor)
	if err != nil {
		return fmt.Errorf("add sync run: %w", err)
	}
	s.ID = id
	return nil
}

func (r reader) SealedKeys(ctx context.Context) ([]directory.SealedKey, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT kind, key_id, n, sample FROM (
		SELECT 'wifi' AS kind, key_id, COUNT(*) AS n, MIN(secret) AS sample FROM credentials WHERE kind = 'wifi' GROUP BY key_id
		UNION ALL
		SELECT 'nas' AS kind, key_id, COUNT(*) AS n, MIN(secret) AS sample FROM nas_clients GROUP BY key_id
	) k ORDER BY kind, key_id`)
	if err != nil {
		return nil, fmt.Errorf("sealed keys: %w", err)
	}
	defer rows.Close()
	var out []directory.SealedKey
	for rows.Next() {
		var k directory.SealedKey
		if err := rows.Scan(&k.Kind, &k.KeyID, &k.Count, &k.Sample); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
