package sqlstore_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/directory/sqlstore"
)

// The hot-path lookups use an index, whatever the size of the school: the
// query plan names a SEARCH, never a SCAN of the table. (Timing would say
// the same more noisily; the plan says it exactly.)
func TestLookupsUseIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []struct{ name, sql string }{
		{"by username", "SELECT id FROM accounts WHERE username = 'x'"},
		{"by MIS id", "SELECT id FROM accounts WHERE mis_id = 'x'"},
		{"by uidNumber", "SELECT id FROM accounts WHERE uid_number = 1"},
		{"group by name", "SELECT id FROM groups WHERE name = 'x'"},
		{"group by gidNumber", "SELECT id FROM groups WHERE gid_number = 1"},
		{"groups of an account", "SELECT g.id FROM groups g JOIN memberships m ON m.group_id = g.id WHERE m.account_id = 1"},
		{"members of a group", "SELECT a.username FROM accounts a JOIN memberships m ON m.account_id = a.id WHERE m.group_id = 1"},
		{"credentials", "SELECT id FROM credentials WHERE account_id = 1 AND kind = 'wifi'"},
		{"suspensions", "SELECT id FROM suspensions WHERE account_id = 1"},
		{"signatures", "SELECT id FROM signatures WHERE account_id = 1"},
		{"signatures of a page of accounts", "SELECT id FROM signatures WHERE account_id > 1 AND account_id <= 1000 ORDER BY account_id, signed_at, id"},
		{"failures", "SELECT count FROM auth_failures WHERE key = 'x'"},
		{"sessions at an address", "SELECT id FROM sessions WHERE framed_ip = '10.0.0.1' AND started_at <= 5 AND (stopped_at IS NULL OR stopped_at >= 5)"},
		// The technician's dashboard.
		{"recent failure counters", "SELECT key FROM auth_failures WHERE last_at >= 1 AND count >= 5 ORDER BY last_at DESC, key LIMIT 500"},
		{"events of an action since", "SELECT seq FROM audit_events WHERE action = 'signin.failures' AND at >= 1 ORDER BY at, seq LIMIT 5000"},
		{"pupils without consent", "SELECT COUNT(*) FROM accounts a WHERE a.role = 'pupil' AND a.status = 'active' AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.account_id = a.id AND c.withdrawn_at IS NULL)"},
	} {
		rows, err := s.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		joined := strings.Join(plan, "; ")
		if strings.Contains(joined, "SCAN ") || !strings.Contains(joined, "SEARCH") {
			t.Errorf("%s scans: %s", q.name, joined)
		}
	}
}
