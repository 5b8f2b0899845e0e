package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"keystage.dev/keystage/directory"
)

const accountCols = `id, uuid, username, role, source, mis_id, given_name, family_name, display_name,
 email, year_group, reg_group, start_date, leave_date, status, disabled_at, disable_reason,
 must_change_password, uid_number, gid_number, home_directory, login_shell, created_at, updated_at, legal_name_withheld, school, also_schools`

type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner) (directory.Account, error) {
	var (
		a                    directory.Account
		role, source, status string
		misID                sql.NullString
		start, leave         sql.NullString
		disabledAt           sql.NullInt64
		created, updated     int64
		also                 string
	)
	err := s.Scan(&a.ID, &a.UUID, &a.Username, &role, &source, &misID, &a.GivenName, &a.FamilyName, &a.DisplayName,
		&a.Email, &a.YearGroup, &a.RegGroup, &start, &leave, &status, &disabledAt, &a.DisableReason,
		&a.MustChangePassword, &a.UIDNumber, &a.GIDNumber, &a.HomeDirectory, &a.LoginShell, &created, &updated, &a.LegalNameWithheld, &a.School, &also)
	if err != nil {
		return a, mapErr(err)
	}
	a.Role, a.Source, a.Status = directory.Role(role), directory.Source(source), directory.Status(status)
	a.MISID = misID.String
	a.AlsoSchools = directory.ParseSchools(also)
	a.StartDate, a.LeaveDate = fromDate(start), fromDate(leave)
	a.DisabledAt = fromMicros(disabledAt)
	a.CreatedAt, a.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return a, nil
}

func (r reader) accountWhere(ctx context.Context, what, where string, arg any) (directory.Account, error) {
	a, err := scanAccount(r.q.QueryRowContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE "+where, arg))
	if err != nil {
		return a, fmt.Errorf("account %s %v: %w", what, arg, err)
	}
	return a, nil
}

func (r reader) Account(ctx context.Context, id int64) (directory.Account, error) {
	return r.accountWhere(ctx, "id", "id = $1", id)
}

func (r reader) AccountByUsername(ctx context.Context, username string) (directory.Account, error) {
	return r.accountWhere(ctx, "username", "username = $1", username)
}

func (r reader) AccountByMISID(ctx context.Context, misID string) (directory.Account, error) {
	return r.accountWhere(ctx, "MIS id", "mis_id = $1", misID)
}

func (r reader) AccountByUID(ctx context.Context, uid int64) (directory.Account, error) {
	return r.accountWhere(ctx, "uidNumber", "uid_number = $1", uid)
}

func (r reader) AccountByUUID(ctx context.Context, uuid string) (directory.Account, error) {
	return r.accountWhere(ctx, "entryUUID", "uuid = $1", uuid)
}

func (r reader) AccountsByEmail(ctx context.Context, email string) ([]directory.Account, error) {
	rows, err := r.q.QueryContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE email IN ($1, $2) ORDER BY id", email, strings.ToLower(email))
	if err != nil {
		return nil, fmt.Errorf("accounts by email: %w", err)
	}
	defer rows.Close()
	var out []directory.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts by email: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func accountFilter(q directory.AccountQuery) (string, []any) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if q.Role != "" {
		add("role = ?", string(q.Role))
	}
	if q.Status != "" {
		add("status = ?", string(q.Status))
	}
	if q.Source != "" {
		add("source = ?", string(q.Source))
	}
	if q.Search != "" {
		add("(LOWER(username) LIKE ? OR LOWER(given_name) LIKE ? OR LOWER(family_name) LIKE ? OR LOWER(display_name) LIKE ? OR mis_id LIKE ?)",
			"%"+strings.ToLower(q.Search)+"%")
	}
	if q.YearGroup != "" {
		add("LOWER(year_group) = ?", strings.ToLower(q.YearGroup))
	}
	if q.RegGroup != "" {
		add("LOWER(reg_group) = ?", strings.ToLower(q.RegGroup))
	}
	switch q.School {
	case "":
	case directory.TrustScope:
		add("school = ?", "")
	default:
		args = append(args, q.School, "% "+q.School+" %")
		conds = append(conds, fmt.Sprintf("(school = $%d OR (' ' || also_schools || ' ') LIKE $%d)", len(args)-1, len(args)))
	}
	if q.AfterID > 0 {
		add("id > ?", q.AfterID)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	return where, args
}

func (r reader) ListAccounts(ctx context.Context, q directory.AccountQuery) ([]directory.Account, error) {
	where, args := accountFilter(q)
	order := " ORDER BY id"
	if q.ByName {
		order = " ORDER BY LOWER(family_name), LOWER(given_name), id"
	}
	query := "SELECT " + accountCols + " FROM accounts" + where + order
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	if q.Offset > 0 {
		if q.Limit <= 0 {
			// SQLite takes OFFSET only after a LIMIT, where -1 is none;
			// PostgreSQL spells that LIMIT ALL.
			if r.d == Postgres {
				query += " LIMIT ALL"
			} else {
				query += " LIMIT -1"
			}
		}
		query += fmt.Sprintf(" OFFSET %d", q.Offset)
	}
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []directory.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (r reader) CountAccounts(ctx context.Context, q directory.AccountQuery) (int, error) {
	q.AfterID = 0
	where, args := accountFilter(q)
	var n int
	if err := r.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM accounts"+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count accounts: %w", err)
	}
	return n, nil
}

func (r reader) UsernameTaken(ctx context.Context, username string, since time.Time) (bool, error) {
	var n int
	err := r.q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM accounts WHERE username = $1)
		+ (SELECT COUNT(*) FROM purged_usernames WHERE username = $1 AND purged_at >= $2)`, username, since.UnixMicro()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("username %s: %w", username, err)
	}
	return n > 0, nil
}

func (r reader) PurgedUsernames(ctx context.Context, since time.Time) ([]string, error) {
	rows, err := r.q.QueryContext(ctx, "SELECT DISTINCT username FROM purged_usernames WHERE purged_at >= $1 ORDER BY username", since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("purged usernames: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("purged usernames: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (t *tx) CreateAccount(ctx context.Context, a *directory.Account) error {
	if a.Status == "" {
		a.Status = directory.StatusActive
	}
	if a.Source == "" {
		a.Source = directory.SourceManual
	}
	if err := a.Validate(); err != nil {
		return err
	}
	var err error
	if a.UIDNumber == 0 {
		if a.UIDNumber, err = t.nextCounter(ctx, "uid"); err != nil {
			return err
		}
	} else if err := t.bumpCounter(ctx, "uid", a.UIDNumber); err != nil {
		return err
	}
	if err := directory.ValidUIDNumber(a.UIDNumber); err != nil {
		return fmt.Errorf("create account %s: %w: %w", a.Username, directory.ErrInvalid, err)
	}
	// The primary group is the person's own (gid = uid), whatever was asked.
	a.GIDNumber = a.UIDNumber
	if a.HomeDirectory == "" {
		a.HomeDirectory = "/home/" + a.Username
	}
	if a.LoginShell == "" {
		a.LoginShell = "/bin/bash"
	}
	a.UUID = uuid.NewString()
	now := time.Now().UTC().Truncate(time.Microsecond)
	a.CreatedAt, a.UpdatedAt = now, now
	id, err := t.insert(ctx, `INSERT INTO accounts (uuid, username, role, source, mis_id, given_name, family_name, display_name,
		email, year_group, reg_group, start_date, leave_date, status, disabled_at, disable_reason,
		must_change_password, uid_number, gid_number, home_directory, login_shell, created_at, updated_at, legal_name_withheld, school, also_schools)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26)`,
		a.UUID, a.Username, string(a.Role), string(a.Source), nullStr(a.MISID), a.GivenName, a.FamilyName, a.DisplayName,
		a.Email, a.YearGroup, a.RegGroup, dt(a.StartDate), dt(a.LeaveDate), string(a.Status), tm(a.DisabledAt), a.DisableReason,
		a.MustChangePassword, a.UIDNumber, a.GIDNumber, a.HomeDirectory, a.LoginShell, now.UnixMicro(), now.UnixMicro(), a.LegalNameWithheld, a.School, directory.FormatSchools(a.AlsoSchools))
	if err != nil {
		return fmt.Errorf("create account %s: %w", a.Username, err)
	}
	a.ID = id
	return nil
}

func (t *tx) UpdateAccount(ctx context.Context, id int64, fn func(*directory.Account) error) (directory.Account, error) {
	old, err := t.Account(ctx, id)
	if err != nil {
		return old, err
	}
	a := old
	if err := fn(&a); err != nil {
		return old, err
	}
	a.ID, a.UUID, a.UIDNumber, a.GIDNumber, a.CreatedAt = old.ID, old.UUID, old.UIDNumber, old.GIDNumber, old.CreatedAt
	if err := a.Validate(); err != nil {
		return old, err
	}
	a.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
	_, err = t.exec(ctx, `UPDATE accounts SET username=$1, role=$2, source=$3, mis_id=$4, given_name=$5, family_name=$6,
		display_name=$7, email=$8, year_group=$9, reg_group=$10, start_date=$11, leave_date=$12, status=$13,
		disabled_at=$14, disable_reason=$15, must_change_password=$16, gid_number=$17, home_directory=$18,
		login_shell=$19, updated_at=$20, legal_name_withheld=$22, school=$23, also_schools=$24 WHERE id=$21`,
		a.Username, string(a.Role), string(a.Source), nullStr(a.MISID), a.GivenName, a.FamilyName,
		a.DisplayName, a.Email, a.YearGroup, a.RegGroup, dt(a.StartDate), dt(a.LeaveDate), string(a.Status),
		tm(a.DisabledAt), a.DisableReason, a.MustChangePassword, a.GIDNumber, a.HomeDirectory,
		a.LoginShell, a.UpdatedAt.UnixMicro(), a.ID, a.LegalNameWithheld, a.School, directory.FormatSchools(a.AlsoSchools))
	if err != nil {
		return old, fmt.Errorf("update account %s: %w", old.Username, mapErr(err))
	}
	return a, nil
}

func (t *tx) DeleteAccount(ctx context.Context, id int64) error {
	a, err := t.Account(ctx, id)
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, "INSERT INTO purged_usernames (username, uuid, purged_at) VALUES ($1, $2, $3)",
		a.Username, a.UUID, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("purge account %s: %w", a.Username, err)
	}
	if _, err := t.exec(ctx, "DELETE FROM accounts WHERE id = $1", id); err != nil {
		return fmt.Errorf("purge account %s: %w", a.Username, err)
	}
	return nil
}
