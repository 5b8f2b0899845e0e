package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"keystage.dev/keystage/directory"
)

const netPolicyCols = `id, grp, precedence, vlan, filter_id, session_timeout, class, removal, status, risk_note,
	proposed_by, proposed_at, decided_by, decided_at, decision_note, school`

func scanNetworkPolicy(s scanner) (directory.NetworkPolicy, error) {
	var (
		p        directory.NetworkPolicy
		timeout  int64
		status   string
		proposed int64
		decided  sql.NullInt64
	)
	if err := s.Scan(&p.ID, &p.Group, &p.Precedence, &p.VLAN, &p.FilterID, &timeout, &p.Class, &p.Removal, &status, &p.RiskNote,
		&p.ProposedBy, &proposed, &p.DecidedBy, &decided, &p.DecisionNote, &p.School); err != nil {
		return p, mapErr(err)
	}
	p.SessionTimeout, p.Status = time.Duration(timeout)*time.Second, directory.NetworkPolicyStatus(status)
	p.ProposedAt, p.DecidedAt = time.UnixMicro(proposed).UTC(), fromMicros(decided)
	return p, nil
}

func (r reader) NetworkPolicies(ctx context.Context) ([]directory.NetworkPolicy, error) {
	return queryAll(ctx, r.q, "network policies", scanNetworkPolicy, "SELECT "+netPolicyCols+" FROM network_policies ORDER BY id")
}

func (t *tx) AddNetworkPolicy(ctx context.Context, p *directory.NetworkPolicy) error {
	id, err := t.insert(ctx, `INSERT INTO network_policies (grp, precedence, vlan, filter_id, session_timeout, class, removal, status,
		risk_note, proposed_by, proposed_at, decided_by, decided_at, decision_note, school) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
		p.Group, p.Precedence, p.VLAN, p.FilterID, int64(p.SessionTimeout/time.Second), p.Class, p.Removal, string(p.Status),
		p.RiskNote, p.ProposedBy, p.ProposedAt.UnixMicro(), p.DecidedBy, tm(p.DecidedAt), p.DecisionNote, p.School)
	if err != nil {
		return fmt.Errorf("add network policy for %s: %w", p.Group, err)
	}
	p.ID = id
	return nil
}

// UpdateNetworkPolicy changes only the decision: what was proposed stays
// as it was proposed.
func (t *tx) UpdateNetworkPolicy(ctx context.Context, id int64, fn func(*directory.NetworkPolicy) error) (directory.NetworkPolicy, error) {
	old, err := scanNetworkPolicy(t.q.QueryRowContext(ctx, "SELECT "+netPolicyCols+" FROM network_policies WHERE id = $1", id))
	if err != nil {
		return old, fmt.Errorf("network policy %d: %w", id, err)
	}
	p := old
	if err := fn(&p); err != nil {
		return old, err
	}
	if _, err := t.exec(ctx, "UPDATE network_policies SET status=$1, decided_by=$2, decided_at=$3, decision_note=$4 WHERE id=$5",
		string(p.Status), p.DecidedBy, tm(p.DecidedAt), p.DecisionNote, id); err != nil {
		return old, fmt.Errorf("update network policy %d: %w", id, err)
	}
	d := old
	d.Status, d.DecidedBy, d.DecidedAt, d.DecisionNote = p.Status, p.DecidedBy, p.DecidedAt, p.DecisionNote
	return d, nil
}

const approvalCols = `id, account_id, kind, device, vlan, filter_id, password_policy, reason, approved_by, recorded_by,
	created_at, until_at, revoked_at, revoked_by`

func scanApproval(s scanner) (directory.Approval, error) {
	var (
		a              directory.Approval
		kind           string
		created, until int64
		revoked        sql.NullInt64
	)
	if err := s.Scan(&a.ID, &a.AccountID, &kind, &a.Device, &a.VLAN, &a.FilterID, &a.PasswordPolicy, &a.Reason, &a.ApprovedBy,
		&a.RecordedBy, &created, &until, &revoked, &a.RevokedBy); err != nil {
		return a, mapErr(err)
	}
	a.Kind = directory.ApprovalKind(kind)
	a.CreatedAt, a.Until, a.RevokedAt = time.UnixMicro(created).UTC(), time.UnixMicro(until).UTC(), fromMicros(revoked)
	return a, nil
}

func (r reader) Approvals(ctx context.Context, accountID int64) ([]directory.Approval, error) {
	return queryAll(ctx, r.q, fmt.Sprintf("approvals of account %d", accountID), scanApproval,
		"SELECT "+approvalCols+" FROM approvals WHERE account_id = $1 OR $1 = 0 ORDER BY id", accountID)
}

func (r reader) ApprovalsBetween(ctx context.Context, afterID, lastID int64) ([]directory.Approval, error) {
	return queryAll(ctx, r.q, fmt.Sprintf("approvals of accounts %d to %d", afterID+1, lastID), scanApproval,
		"SELECT "+approvalCols+" FROM approvals WHERE account_id > $1 AND account_id <= $2 ORDER BY account_id, id", afterID, lastID)
}

func (t *tx) AddApproval(ctx context.Context, a *directory.Approval) error {
	id, err := t.insert(ctx, `INSERT INTO approvals (account_id, kind, device, vlan, filter_id, password_policy, reason, approved_by,
		recorded_by, created_at, until_at, revoked_at, revoked_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
		a.AccountID, string(a.Kind), a.Device, a.VLAN, a.FilterID, a.PasswordPolicy, a.Reason, a.ApprovedBy, a.RecordedBy,
		a.CreatedAt.UnixMicro(), a.Until.UnixMicro(), tm(a.RevokedAt), a.RevokedBy)
	if err != nil {
		return fmt.Errorf("add approval for account %d: %w", a.AccountID, err)
	}
	a.ID = id
	return nil
}

// UpdateApproval changes its end and its revocation; what was approved
// stays.
func (t *tx) UpdateApproval(ctx context.Context, id int64, fn func(*directory.Approval) error) (directory.Approval, error) {
	old, err := scanApproval(t.q.QueryRowContext(ctx, "SELECT "+approvalCols+" FROM approvals WHERE id = $1", id))
	if err != nil {
		return old, fmt.Errorf("approval %d: %w", id, err)
	}
	a := old
	if err := fn(&a); err != nil {
		return old, err
	}
	if _, err := t.exec(ctx, "UPDATE approvals SET until_at=$1, revoked_at=$2, revoked_by=$3 WHERE id=$4",
		a.Until.UnixMicro(), tm(a.RevokedAt), a.RevokedBy, id); err != nil {
		return old, fmt.Errorf("update approval %d: %w", id, err)
	}
	d := old
	d.Until, d.RevokedAt, d.RevokedBy = a.Until, a.RevokedAt, a.RevokedBy
	return d, nil
}

func (r reader) SchoolDevices(ctx context.Context) ([]directory.SchoolDevice, error) {
	rows, err := r.q.QueryContext(ctx, "SELECT mac, label, added_by, added_at FROM school_devices ORDER BY mac")
	if err != nil {
		return nil, fmt.Errorf("school devices: %w", err)
	}
	defer rows.Close()
	var out []directory.SchoolDevice
	for rows.Next() {
		var d directory.SchoolDevice
		var at int64
		if err := rows.Scan(&d.MAC, &d.Label, &d.AddedBy, &at); err != nil {
			return nil, fmt.Errorf("school devices: %w", err)
		}
		d.AddedAt = time.UnixMicro(at).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

func (r reader) SchoolDevice(ctx context.Context, mac string) (directory.SchoolDevice, error) {
	var d directory.SchoolDevice
	var at int64
	err := r.q.QueryRowContext(ctx, "SELECT mac, label, added_by, added_at FROM school_devices WHERE mac = $1", mac).
		Scan(&d.MAC, &d.Label, &d.AddedBy, &at)
	if err != nil {
		return d, fmt.Errorf("school device %s: %w", mac, mapErr(err))
	}
	d.AddedAt = time.UnixMicro(at).UTC()
	return d, nil
}

func (t *tx) PutSchoolDevice(ctx context.Context, d *directory.SchoolDevice) error {
	if _, err := t.exec(ctx, `INSERT INTO school_devices (mac, label, added_by, added_at) VALUES ($1,$2,$3,$4)
		ON CONFLICT (mac) DO UPDATE SET label = excluded.label`, d.MAC, d.Label, d.AddedBy, d.AddedAt.UnixMicro()); err != nil {
		return fmt.Errorf("put school device %s: %w", d.MAC, err)
	}
	return nil
}

func (t *tx) DeleteSchoolDevice(ctx context.Context, mac string) error {
	res, err := t.exec(ctx, "DELETE FROM school_devices WHERE mac = $1", mac)
	if err != nil {
		return fmt.Errorf("delete school device %s: %w", mac, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("school device %s: %w", mac, directory.ErrNotFound)
	}
	return nil
}

func (t *tx) ForgetDevice(ctx context.Context, accountID int64, mac string) error {
	res, err := t.exec(ctx, "DELETE FROM account_devices WHERE account_id = $1 AND mac = $2", accountID, mac)
	if err != nil {
		return fmt.Errorf("forget device %s of account %d: %w", mac, accountID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("device %s of account %d: %w", mac, accountID, directory.ErrNotFound)
	}
	return nil
}

func (r reader) Devices(ctx context.Context, accountID int64) ([]directory.Device, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT account_id, mac, first_at, last_at, flagged FROM account_devices
		WHERE account_id = $1 OR $1 = 0 ORDER BY account_id, mac`, accountID)
	if err != nil {
		return nil, fmt.Errorf("devices of account %d: %w", accountID, err)
	}
	defer rows.Close()
	var out []directory.Device
	for rows.Next() {
		var d directory.Device
		var first, last int64
		if err := rows.Scan(&d.AccountID, &d.MAC, &first, &last, &d.Flagged); err != nil {
			return nil, fmt.Errorf("devices of account %d: %w", accountID, err)
		}
		d.FirstAt, d.LastAt = time.UnixMicro(first).UTC(), time.UnixMicro(last).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Store) NoteDevice(ctx context.Context, accountID int64, mac string, t time.Time, flagged bool) error {
	_, err := s.reader.q.ExecContext(ctx, `INSERT INTO account_devices (account_id, mac, first_at, last_at, flagged) VALUES ($1, $2, $3, $3, $4)
		ON CONFLICT (account_id, mac) DO UPDATE SET last_at = CASE WHEN account_devices.last_at < excluded.last_at
		THEN excluded.last_at ELSE account_devices.last_at END, flagged = (account_devices.flagged OR excluded.flagged)`,
		accountID, mac, t.UnixMicro(), flagged)
	if err != nil {
		return fmt.Errorf("note device %s of account %d: %w", mac, accountID, mapErr(err))
	}
	return nil
}

func (s *Store) PruneDevices(ctx context.Context, before time.Time, keep []int64) (int64, error) {
	q := "DELETE FROM account_devices WHERE last_at < $1"
	args := []any{before.UnixMicro()}
	for _, id := range keep {
		args = append(args, id)
		q += fmt.Sprintf(" AND account_id <> $%d", len(args))
	}
	res, err := s.reader.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("prune devices: %w", err)
	}
	return res.RowsAffected()
}
