package sqlstore

import (
	"context"
	"fmt"

	"keystage.dev/keystage/directory"
)

var _ directory.FactsReader = (*Store)(nil)

// The reads of a range of accounts' facts at once, for the in-memory view
// (directory.View) to load from at start: each scans the same columns, with
// the same scanner, as the read of one account's, so that a column added
// to one reaches the other.

func (r reader) CredentialsBetween(ctx context.Context, afterID, lastID int64) ([]directory.Credential, error) {
	return queryAll(ctx, r.q, fmt.Sprintf("credentials of accounts %d to %d", afterID+1, lastID), scanCredential,
		"SELECT "+credCols+" FROM credentials WHERE account_id > $1 AND account_id <= $2 ORDER BY account_id, id DESC", afterID, lastID)
}

func (r reader) SuspensionsBetween(ctx context.Context, afterID, lastID int64) ([]directory.Suspension, error) {
	return r.suspensionsOrdered(ctx, fmt.Sprintf("suspensions of accounts %d to %d", afterID+1, lastID),
		"account_id > $1 AND account_id <= $2", "account_id, from_at, id", afterID, lastID)
}

func (r reader) suspensionsOrdered(ctx context.Context, what, where, order string, args ...any) ([]directory.Suspension, error) {
	return queryAll(ctx, r.q, what, scanSuspension, "SELECT "+suspCols+" FROM suspensions WHERE "+where+" ORDER BY "+order, args...)
}

func (r reader) ConsentsBetween(ctx context.Context, afterID, lastID int64) ([]directory.Consent, error) {
	return queryAll(ctx, r.q, fmt.Sprintf("consents of accounts %d to %d", afterID+1, lastID), scanConsent,
		"SELECT "+consentCols+" FROM consents WHERE account_id > $1 AND account_id <= $2 ORDER BY account_id, given_at, id", afterID, lastID)
}

func (r reader) MembershipsBetween(ctx context.Context, afterID, lastID int64) ([]directory.Membership, error) {
	rows, err := r.q.QueryContext(ctx, "SELECT group_id, account_id FROM memberships WHERE account_id > $1 AND account_id <= $2 ORDER BY account_id, group_id", afterID, lastID)
	if err != nil {
		return nil, fmt.Errorf("memberships of accounts %d to %d: %w", afterID+1, lastID, err)
	}
	defer rows.Close()
	var out []directory.Membership
	for rows.Next() {
		var m directory.Membership
		if err := rows.Scan(&m.GroupID, &m.AccountID); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
