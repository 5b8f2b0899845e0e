package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"keystage.dev/keystage/directory"
)

const holdCols = "id, account_id, kind, reason, reference, set_by, set_at, lifted_by, lifted_at, lift_note"

func scanHold(s scanner) (directory.LegalHold, error) {
	var (
		h      directory.LegalHold
		kind   string
		set    int64
		lifted sql.NullInt64
	)
	if err := s.Scan(&h.ID, &h.AccountID, &kind, &h.Reason, &h.Reference, &h.SetBy, &set, &h.LiftedBy, &lifted, &h.LiftNote); err != nil {
		return h, mapErr(err)
	}
	h.Kind, h.SetAt, h.LiftedAt = directory.LegalHoldKind(kind), time.UnixMicro(set).UTC(), fromMicros(lifted)
	return h, nil
}

func (r reader) LegalHolds(ctx context.Context, accountID int64) ([]directory.LegalHold, error) {
	return r.holds(ctx, fmt.Sprintf("legal holds of account %d", accountID), "account_id = $1", accountID)
}

func (r reader) OpenLegalHolds(ctx context.Context) ([]directory.LegalHold, error) {
	return r.holds(ctx, "open legal holds", "lifted_at IS NULL")
}

func (r reader) holds(ctx context.Context, what, where string, args ...any) ([]directory.LegalHold, error) {
	return queryAll(ctx, r.q, what, scanHold, "SELECT "+holdCols+" FROM legal_holds WHERE "+where+" ORDER BY set_at, id", args...)
}

func (t *tx) AddLegalHold(ctx context.Context, h *directory.LegalHold) error {
	id, err := t.insert(ctx, `INSERT INTO legal_holds (account_id, kind, reason, reference, set_by, set_at, lifted_by, lifted_at, lift_note)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, h.AccountID, string(h.Kind), h.Reason, h.Reference, h.SetBy, h.SetAt.UnixMicro(),
		h.LiftedBy, tm(h.LiftedAt), h.LiftNote)
	if err != nil {
		return fmt.Errorf("add legal hold for account %d: %w", h.AccountID, err)
	}
	h.ID = id
	return nil
}

func (t *tx) UpdateLegalHold(ctx context.Context, id int64, fn func(*directory.LegalHold) error) (directory.LegalHold, error) {
	old, err := scanHold(t.q.QueryRowContext(ctx, "SELECT "+holdCols+" FROM legal_holds WHERE id = $1", id))
	if err != nil {
		return old, fmt.Errorf("legal hold %d: %w", id, err)
	}
	h := old
	if err := fn(&h); err != nil {
		return old, err
	}
	if _, err := t.exec(ctx, "UPDATE legal_holds SET reason=$1, reference=$2, lifted_by=$3, lifted_at=$4, lift_note=$5 WHERE id=$6",
		h.Reason, h.Reference, h.LiftedBy, tm(h.LiftedAt), h.LiftNote, id); err != nil {
		return old, fmt.Errorf("update legal hold %d: %w", id, err)
	}
	h.ID, h.AccountID, h.Kind, h.SetBy, h.SetAt = old.ID, old.AccountID, old.Kind, old.SetBy, old.SetAt
	return h, nil
}
