package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"keystage.dev/keystage/directory"
)

const docCols = "id, audience, version, body, digest, published_at, resign_from, monitoring_notice, school"

func scanDoc(s scanner) (directory.AUPDocument, error) {
	var (
		d         directory.AUPDocument
		published int64
		resign    sql.NullInt64
	)
	if err := s.Scan(&d.ID, &d.Audience, &d.Version, &d.Text, &d.Digest, &published, &resign, &d.MonitoringNotice, &d.School); err != nil {
		return d, mapErr(err)
	}
	d.PublishedAt, d.ResignFrom = time.UnixMicro(published).UTC(), fromMicros(resign)
	return d, nil
}

func (r reader) AUPDocuments(ctx context.Context) ([]directory.AUPDocument, error) {
	return queryAll(ctx, r.q, "AUP documents", scanDoc, "SELECT "+docCols+" FROM aup_documents ORDER BY audience, published_at, id")
}

func (r reader) AUPDocument(ctx context.Context, id int64) (directory.AUPDocument, error) {
	d, err := scanDoc(r.q.QueryRowContext(ctx, "SELECT "+docCols+" FROM aup_documents WHERE id = $1", id))
	if err != nil {
		return d, fmt.Errorf("AUP document %d: %w", id, err)
	}
	return d, nil
}

func (t *tx) AddAUPDocument(ctx context.Context, d *directory.AUPDocument) error {
	if d.PublishedAt.IsZero() {
		d.PublishedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	id, err := t.insert(ctx, "INSERT INTO aup_documents (audience, version, body, digest, published_at, resign_from, monitoring_notice, school) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
		d.Audience, d.Version, d.Text, d.Digest, d.PublishedAt.UnixMicro(), tm(d.ResignFrom), d.MonitoringNotice, d.School)
	if err != nil {
		return fmt.Errorf("publish AUP %s %s: %w", d.Audience, d.Version, err)
	}
	d.ID = id
	return nil
}

const sigCols = "id, account_id, document_id, digest, signed_at, method, address, user_agent, form_date, witness, recorded_by, notice_acknowledged"

func (r reader) Signatures(ctx context.Context, accountID int64) ([]directory.Signature, error) {
	rows, err := r.q.QueryContext(ctx, "SELECT "+sigCols+" FROM signatures WHERE account_id = $1 ORDER BY signed_at, id", accountID)
	if err != nil {
		return nil, fmt.Errorf("signatures of account %d: %w", accountID, err)
	}
	return scanSignatures(rows)
}

func (r reader) SignaturesBetween(ctx context.Context, afterID, lastID int64) ([]directory.Signature, error) {
	rows, err := r.q.QueryContext(ctx, "SELECT "+sigCols+" FROM signatures WHERE account_id > $1 AND account_id <= $2 ORDER BY account_id, signed_at, id", afterID, lastID)
	if err != nil {
		return nil, fmt.Errorf("signatures of accounts %d to %d: %w", afterID+1, lastID, err)
	}
	return scanSignatures(rows)
}

func scanSignatures(rows *sql.Rows) ([]directory.Signature, error) {
	defer rows.Close()
	var out []directory.Signature
	for rows.Next() {
		var (
			s        directory.Signature
			signed   int64
			method   string
			formDate sql.NullString
		)
		if err := rows.Scan(&s.ID, &s.AccountID, &s.DocumentID, &s.Digest, &signed, &method, &s.Address, &s.UserAgent, &formDate, &s.Witness, &s.RecordedBy,
			&s.NoticeAcknowledged); err != nil {
			return nil, err
		}
		s.SignedAt, s.Method, s.FormDate = time.UnixMicro(signed).UTC(), directory.SignMethod(method), fromDate(formDate)
		out = append(out, s)
	}
	return out, rows.Err()
}

func (t *tx) AddSignature(ctx context.Context, s *directory.Signature) error {
	id, err := t.insert(ctx, `INSERT INTO signatures (account_id, document_id, digest, signed_at, method, address, user_agent, form_date, witness, recorded_by,
		notice_acknowledged)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`, s.AccountID, s.DocumentID, s.Digest, s.SignedAt.UnixMicro(), string(s.Method),
		s.Address, s.UserAgent, dt(s.FormDate), s.Witness, s.RecordedBy, s.NoticeAcknowledged)
	if err != nil {
		return fmt.Errorf("add signature for account %d: %w", s.AccountID, err)
	}
	s.ID = id
	return nil
}

const consentCols = "id, account_id, document_id, parent_name, relationship, given_at, method, recorded_by, withdrawn_at, decision"

func scanConsent(s scanner) (directory.Consent, error) {
	var (
		c         directory.Consent
		doc       sql.NullInt64
		given     int64
		method    string
		withdrawn sql.NullInt64
		decision  string
	)
	if err := s.Scan(&c.ID, &c.AccountID, &doc, &c.ParentName, &c.Relationship, &given, &method, &c.RecordedBy, &withdrawn, &decision); err != nil {
		return c, mapErr(err)
	}
	c.Decision = directory.ConsentDecision(decision)
	c.DocumentID, c.GivenAt, c.Method, c.WithdrawnAt = doc.Int64, time.UnixMicro(given).UTC(), directory.SignMethod(method), fromMicros(withdrawn)
	return c, nil
}

func (r reader) Consents(ctx context.Context, accountID int64) ([]directory.Consent, error) {
	return queryAll(ctx, r.q, fmt.Sprintf("consents of account %d", accountID), scanConsent,
		"SELECT "+consentCols+" FROM consents WHERE account_id = $1 ORDER BY given_at, id", accountID)
}

func (t *tx) AddConsent(ctx context.Context, c *directory.Consent) error {
	var doc any
	if c.DocumentID != 0 {
		doc = c.DocumentID
	}
	if c.Decision == "" {
		c.Decision = directory.ConsentAgreed
	}
	id, err := t.insert(ctx, `INSERT INTO consents (account_id, document_id, parent_name, relationship, given_at, method, recorded_by, withdrawn_at, decision)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, c.AccountID, doc, c.ParentName, c.Relationship, c.GivenAt.UnixMicro(), string(c.Method), c.RecordedBy, tm(c.WithdrawnAt),
		string(c.Decision))
	if err != nil {
		return fmt.Errorf("add consent for account %d: %w", c.AccountID, err)
	}
	c.ID = id
	return nil
}

func (t *tx) UpdateConsent(ctx context.Context, id int64, fn func(*directory.Consent) error) (directory.Consent, error) {
	old, err := scanConsent(t.q.QueryRowContext(ctx, "SELECT "+consentCols+" FROM consents WHERE id = $1", id))
	if err != nil {
		return old, fmt.Errorf("consent %d: %w", id, err)
	}
	c := old
	if err := fn(&c); err != nil {
		return old, err
	}
	if _, err := t.exec(ctx, "UPDATE consents SET parent_name=$1, relationship=$2, withdrawn_at=$3 WHERE id=$4",
		c.ParentName, c.Relationship, tm(c.WithdrawnAt), id); err != nil {
		return old, fmt.Errorf("update consent %d: %w", id, err)
	}
	c.ID, c.AccountID = old.ID, old.AccountID
	return c, nil
}

const suspCols = "id, account_id, from_at, until_at, reason, incident_ref, created_by, created_at, lifted_at, lifted_by, scope, lift_role, talk_with, talk_at, talk_note"

func scanSuspension(s scanner) (directory.Suspension, error) {
	var (
		x                     directory.Suspension
		from, created         int64
		until, lifted, talkAt sql.NullInt64
		scope                 string
	)
	if err := s.Scan(&x.ID, &x.AccountID, &from, &until, &x.Reason, &x.IncidentRef, &x.CreatedBy, &created, &lifted, &x.LiftedBy,
		&scope, &x.LiftRole, &x.TalkWith, &talkAt, &x.TalkNote); err != nil {
		return x, mapErr(err)
	}
	x.From, x.Until, x.CreatedAt, x.LiftedAt = time.UnixMicro(from).UTC(), fromMicros(until), time.UnixMicro(created).UTC(), fromMicros(lifted)
	x.Scope, x.TalkAt = directory.SuspensionScope(scope), fromMicros(talkAt)
	return x, nil
}

// scopeOrAll stores the empty scope as the all scope it reads as.
func scopeOrAll(sc directory.SuspensionScope) string {
	if sc == "" {
		return string(directory.SuspendAll)
	}
	return string(sc)
}

func (r reader) Suspensions(ctx context.Context, accountID int64) ([]directory.Suspension, error) {
	return r.suspensions(ctx, fmt.Sprintf("suspensions of account %d", accountID), "account_id = $1", accountID)
}

func (r reader) UpcomingSuspensions(ctx context.Context, after time.Time) ([]directory.Suspension, error) {
	return r.suspensions(ctx, "upcoming suspensions", "from_at > $1 AND lifted_at IS NULL", after.UnixMicro())
}

// suspensions lists the suspensions that where selects, in the order they
// start; what names them in an error.
func (r reader) suspensions(ctx context.Context, what, where string, args ...any) ([]directory.Suspension, error) {
	return r.suspensionsOrdered(ctx, what, where, "from_at, id", args...)
}

func (t *tx) AddSuspension(ctx context.Context, s *directory.Suspension) error {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	id, err := t.insert(ctx, `INSERT INTO suspensions (account_id, from_at, until_at, reason, incident_ref, created_by, created_at, lifted_at, lifted_by,
		scope, lift_role, talk_with, talk_at, talk_note)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`, s.AccountID, s.From.UnixMicro(), tm(s.Until), s.Reason, s.IncidentRef, s.CreatedBy,
		s.CreatedAt.UnixMicro(), tm(s.LiftedAt), s.LiftedBy, scopeOrAll(s.Scope), s.LiftRole, s.TalkWith, tm(s.TalkAt), s.TalkNote)
	if err != nil {
		return fmt.Errorf("add suspension for account %d: %w", s.AccountID, err)
	}
	s.ID = id
	return nil
}

func (t *tx) UpdateSuspension(ctx context.Context, id int64, fn func(*directory.Suspension) error) (directory.Suspension, error) {
	old, err := scanSuspension(t.q.QueryRowContext(ctx, "SELECT "+suspCols+" FROM suspensions WHERE id = $1", id))
	if err != nil {
		return old, fmt.Errorf("suspension %d: %w", id, err)
	}
	s := old
	if err := fn(&s); err != nil {
		return old, err
	}
	if _, err := t.exec(ctx, `UPDATE suspensions SET until_at=$1, reason=$2, incident_ref=$3, lifted_at=$4, lifted_by=$5,
		scope=$6, lift_role=$7, talk_with=$8, talk_at=$9, talk_note=$10 WHERE id=$11`,
		tm(s.Until), s.Reason, s.IncidentRef, tm(s.LiftedAt), s.LiftedBy, scopeOrAll(s.Scope), s.LiftRole, s.TalkWith, tm(s.TalkAt), s.TalkNote, id); err != nil {
		return old, fmt.Errorf("update suspension %d: %w", id, err)
	}
	s.ID, s.AccountID, s.From, s.CreatedAt, s.CreatedBy = old.ID, old.AccountID, old.From, old.CreatedAt, old.CreatedBy
	s.Scope = directory.SuspensionScope(scopeOrAll(s.Scope))
	return s, nil
}
