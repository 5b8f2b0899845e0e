package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"keystage.dev/keystage/directory"
)

func (r reader) SyncRefusals(ctx context.Context) ([]directory.SyncRefusal, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT mis_id, source, file, line, reason, first_seen, last_seen
		FROM sync_refusals ORDER BY mis_id, line, reason`)
	if err != nil {
		return nil, fmt.Errorf("sync refusals: %w", err)
	}
	defer rows.Close()
	var out []directory.SyncRefusal
	for rows.Next() {
		var (
			x           directory.SyncRefusal
			first, last sql.NullInt64
		)
		if err := rows.Scan(&x.MISID, &x.Source, &x.File, &x.Line, &x.Reason, &first, &last); err != nil {
			return nil, fmt.Errorf("sync refusals: %w", err)
		}
		x.FirstSeen, x.LastSeen = fromMicros(first), fromMicros(last)
		out = append(out, x)
	}
	return out, rows.Err()
}

func (r reader) MissingRuns(ctx context.Context) (map[string]int, error) {
	rows, err := r.q.QueryContext(ctx, "SELECT mis_id, runs FROM sync_missing")
	if err != nil {
		return nil, fmt.Errorf("missing runs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("missing runs: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

func (t *tx) ReplaceSyncRefusals(ctx context.Context, rs []directory.SyncRefusal) error {
	if _, err := t.exec(ctx, "DELETE FROM sync_refusals"); err != nil {
		return fmt.Errorf("replace sync refusals: %w", err)
	}
	for _, x := range rs {
		if _, err := t.exec(ctx, `INSERT INTO sync_refusals (mis_id, source, file, line, reason, first_seen, last_seen)
			VALUES ($1,$2,$3,$4,$5,$6,$7)`, x.MISID, x.Source, x.File, x.Line, x.Reason, x.FirstSeen.UnixMicro(), x.LastSeen.UnixMicro()); err != nil {
			return fmt.Errorf("replace sync refusals: %w", err)
		}
	}
	return nil
}

func (t *tx) ReplaceMissingRuns(ctx context.Context, runs map[string]int) error {
	if _, err := t.exec(ctx, "DELETE FROM sync_missing"); err != nil {
		return fmt.Errorf("replace missing runs: %w", err)
	}
	ids := make([]string, 0, len(runs))
	for id, n := range runs {
		if n > 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, err := t.exec(ctx, "INSERT INTO sync_missing (mis_id, runs) VALUES ($1, $2)", id, runs[id]); err != nil {
			return fmt.Errorf("replace missing runs: %w", err)
		}
	}
	return nil
}
