package sqlstore

import (
	"context"
	"fmt"

	"keystage.dev/keystage/directory"
)

// inSchool selects the accounts in a school's scope as two indexed reads:
// its own by accounts_school, and those dual-registered there among the
// few with any other school, by the partial index accounts_also_schools.
// $1 is the school, $2 its LIKE pattern. The range "greater than the
// empty string" (the same rows as "not empty", which names the partial
// index) is what makes
// SQLite's planner read that index rather than every pupil by
// accounts_role_status when a role is asked for too.
const inSchool = `SELECT id, role, status FROM accounts WHERE school = $1
	UNION ALL
	SELECT id, role, status FROM accounts WHERE also_schools <> '' AND also_schools > '' AND school <> $1 AND (' ' || also_schools || ' ') LIKE $2`

// schoolArgs are inSchool's arguments; the trust's own are those of no
// school, and none is dual-registered there.
func schoolArgs(school string) []any {
	if school == directory.TrustScope {
		return []any{"", "-"}
	}
	return []any{school, "% " + school + " %"}
}

func (s *Store) SchoolAccountCounts(ctx context.Context, school string) ([]directory.AccountCount, error) {
	rows, err := s.reader.q.QueryContext(ctx, "SELECT role, status, COUNT(*) FROM ("+inSchool+") x GROUP BY role, status ORDER BY role, status",
		schoolArgs(school)...)
	if err != nil {
		return nil, fmt.Errorf("account counts of %s: %w", school, err)
	}
	defer rows.Close()
	var out []directory.AccountCount
	for rows.Next() {
		var c directory.AccountCount
		if err := rows.Scan(&c.Role, &c.Status, &c.N); err != nil {
			return nil, fmt.Errorf("account counts of %s: %w", school, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) SchoolMissingConsents(ctx context.Context, school string) (int, error) {
	var n int
	args := append(schoolArgs(school), string(directory.RolePupil), string(directory.StatusActive))
	err := s.reader.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+inSchool+`) a WHERE a.role = $3 AND a.status = $4
		AND NOT EXISTS (SELECT 1 FROM consents c WHERE c.account_id = a.id AND c.withdrawn_at IS NULL AND c.decision = 'agreed')`,
		args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("missing consents of %s: %w", school, err)
	}
	return n, nil
}
