package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
)

// Errors of the AUP, consent and suspension services, beside ErrNotFound
// and ErrConflict; test them with errors.Is.
var (
	// ErrUnknownAudience is an AUP audience that is neither built in nor
	// added in configuration.
	ErrUnknownAudience = errors.New("unknown AUP audience")
	// ErrNotPublished means no document is published for an audience.
	ErrNotPublished = errors.New("no AUP published for this audience")
	// ErrDocumentChanged means a signature names a document version that
	// is no longer the current one (or a digest that is not its text's).
	ErrDocumentChanged = errors.New("the AUP has changed since it was read")
	// ErrInvalid is input that breaks a rule (a missing reason, an end
	// before the start, a form dated in the future); the wrapping message
	// says which and what to do.
	ErrInvalid = errors.New("invalid")
)

// InvalidError is an ErrInvalid whose message is written for the person
// who gave the input: frontends may show Msg as it is.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// builtinAudiences are the AUP audiences every Keystage knows.
var builtinAudiences = []string{"staff", "pupil-ks2", "pupil-ks1", "pupil", "community", "parent-permission"}

// KnownAudiences are the audiences documents may be published for: the
// built-in ones, the consent audience and those added in configuration,
// sorted.
func (p GatePolicy) KnownAudiences() []string {
	out := append(slices.Clone(builtinAudiences), p.ExtraAudiences...)
	out = append(out, p.consentAudience())
	slices.Sort(out)
	return slices.Compact(out)
}

// AudiencesOf are the AUP audiences a must have signed.
func (p GatePolicy) AudiencesOf(a Account) []string {
	if p.Audiences != nil {
		return p.Audiences(a)
	}
	return DefaultAudiences(a)
}

// NeedsConsent reports whether a needs parental consent.
func (p GatePolicy) NeedsConsent(a Account) bool {
	if p.RequireConsent != nil {
		return p.RequireConsent(a)
	}
	return a.Role == RolePupil
}

// CurrentDocument is the newest document of an audience published at or
// before at.
func CurrentDocument(docs []AUPDocument, audience string, at time.Time) (AUPDocument, bool) {
	return current(docs, audience, at)
}

// Digest is the hex SHA-256 of an AUP text: what a signature names.
func Digest(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// PublishAUP publishes a version of an AUP. The audience must be known and
// the version new for it; the digest is computed here. ResignFrom, when
// set, makes signatures of earlier versions stop counting from then.
func (d *Directory) PublishAUP(ctx context.Context, actor string, doc AUPDocument) (AUPDocument, error) {
	doc.Audience, doc.Version = strings.TrimSpace(doc.Audience), strings.TrimSpace(doc.Version)
	doc.MonitoringNotice = strings.TrimSpace(doc.MonitoringNotice)
	if !slices.Contains(d.gate.Policy.KnownAudiences(), doc.Audience) {
		return doc, fmt.Errorf("publish AUP: audience %q: %w (known: %s; add others under [aup] in the configuration)",
			doc.Audience, ErrUnknownAudience, strings.Join(d.gate.Policy.KnownAudiences(), ", "))
	}
	if doc.Version == "" {
		return doc, fmt.Errorf("publish AUP %s: %w", doc.Audience, invalid("give the version, e.g. 2026-09"))
	}
	if err := d.CheckSchool(doc.School); err != nil {
		return doc, fmt.Errorf("publish AUP %s: %w", doc.Audience, err)
	}
	if strings.TrimSpace(doc.Text) == "" {
		return doc, fmt.Errorf("publish AUP %s %s: %w", doc.Audience, doc.Version, invalid("the text is empty"))
	}
	doc.ID, doc.Digest = 0, Digest(doc.Text)
	if doc.PublishedAt.IsZero() {
		doc.PublishedAt = d.Now().UTC().Truncate(time.Microsecond)
	}
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		docs, err := tx.AUPDocuments(ctx)
		if err != nil {
			return err
		}
		for _, o := range docs {
			if o.Audience == doc.Audience && o.Version == doc.Version {
				if o.School != doc.School {
					// Versions are named once across the trust's schools.
					prefix := doc.School
					if prefix == "" {
						prefix = TrustScope
					}
					return fmt.Errorf("version %s of %s: %w at %s: name the version apart, e.g. %s-%s",
						doc.Version, doc.Audience, ErrConflict, schoolOrTrust(o.School), prefix, doc.Version)
				}
				return fmt.Errorf("version %s of %s: %w: publish it under a new version", doc.Version, doc.Audience, ErrConflict)
			}
		}
		if err := tx.AddAUPDocument(ctx, &doc); err != nil {
			return err
		}
		after := map[string]any{
			"document_id": doc.ID, "audience": doc.Audience, "version": doc.Version, "digest": doc.Digest,
			"resign_from": timeOrNil(doc.ResignFrom), "monitoring_notice": doc.MonitoringNotice}
		if doc.School != "" {
			after["school"] = doc.School
		}
		return d.Record(ctx, tx, actor, audit.ActionAUPPublish, audit.Target(audit.KindAUP, doc.Audience), nil, after)
	})
	if err != nil {
		return doc, fmt.Errorf("publish AUP: %w", err)
	}
	return doc, nil
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// CheckSignature says whether sig may be recorded for a now, without
// writing: the document it names must be the current version of one of
// a's audiences, by ID and digest, and a paper form needs its date (not
// in the future) and its witness. It returns the document. Bulk imports
// plan with it; RecordSignature calls it inside its transaction.
// docs are the published documents (Reader.AUPDocuments), read once by a
// caller that checks many signatures.
func (d *Directory) CheckSignature(ctx context.Context, r Reader, docs []AUPDocument, a Account, sig Signature) (AUPDocument, error) {
	now := d.Now()
	docs = DocumentsFor(docs, a.School)
	var doc AUPDocument
	found := false
	for _, o := range docs {
		if o.ID == sig.DocumentID {
			doc, found = o, true
		}
	}
	if !found {
		return doc, fmt.Errorf("AUP document %d (of %s's school, or the trust's): %w", sig.DocumentID, a.Username, ErrNotFound)
	}
	if !slices.Contains(d.gate.Policy.AudiencesOf(a), doc.Audience) {
		return doc, invalid("%s does not sign the %s AUP (theirs: %s)", a.Username, doc.Audience,
			strings.Join(d.gate.Policy.AudiencesOf(a), ", "))
	}
	if cur, ok := current(docs, doc.Audience, now); !ok || cur.ID != doc.ID || sig.Digest != doc.Digest {
		return doc, fmt.Errorf("%w: sign version %s of the %s AUP instead", ErrDocumentChanged, cur.Version, doc.Audience)
	}
	switch sig.Method {
	case SignPortal:
		if strings.TrimSpace(doc.MonitoringNotice) != "" && !sig.NoticeAcknowledged {
			return doc, invalid("Acknowledge the monitoring notice: signing the %s AUP includes it.", doc.Audience)
		}
	case SignPaper:
		if sig.FormDate.IsZero() || sig.FormDate.After(now) {
			return doc, invalid("Give the date written on the form (not in the future).")
		}
		if strings.TrimSpace(sig.Witness) == "" {
			return doc, invalid("Give the name of the witness on the form.")
		}
	default:
		return doc, invalid("signature method %q: want portal or paper", sig.Method)
	}
	sigs, err := r.Signatures(ctx, a.ID)
	if err != nil {
		return doc, err
	}
	for _, s := range sigs {
		if s.DocumentID == doc.ID {
			return doc, fmt.Errorf("%s has already signed version %s of the %s AUP: %w", a.Username, doc.Version, doc.Audience, ErrConflict)
		}
	}
	return doc, nil
}

// SignRequest is one signature to record for an account.
type SignRequest struct {
	Account   Account
	Signature Signature
}

// RecordSignature records that a signed an AUP version: in the portal
// (with address and user agent) or on a paper form entered by staff (with
// the form's date and witness). The signature names the version by
// DocumentID and Digest; signing a version that is not current fails with
// ErrDocumentChanged, signing one already signed with ErrConflict.
func (d *Directory) RecordSignature(ctx context.Context, actor string, a Account, sig Signature) (Signature, error) {
	out, err := d.RecordSignatures(ctx, actor, []SignRequest{{Account: a, Signature: sig}})
	if err != nil {
		return sig, err
	}
	return out[0], nil
}

// RecordSignatures records many signatures in one transaction (a bulk
// import of paper forms): all are recorded, or none.
func (d *Directory) RecordSignatures(ctx context.Context, actor string, reqs []SignRequest) ([]Signature, error) {
	out := make([]Signature, len(reqs))
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		docs, err := tx.AUPDocuments(ctx)
		if err != nil {
			return err
		}
		for i, rq := range reqs {
			a, sig := rq.Account, rq.Signature
			doc, err := d.CheckSignature(ctx, tx, docs, a, sig)
			if err != nil {
				return fmt.Errorf("%s: %w", a.Username, err)
			}
			sig.ID, sig.AccountID, sig.SignedAt = 0, a.ID, d.Now()
			if sig.RecordedBy == "" {
				sig.RecordedBy = actor
			}
			if err := tx.AddSignature(ctx, &sig); err != nil {
				return err
			}
			after := map[string]any{"document_id": doc.ID, "audience": doc.Audience, "version": doc.Version,
				"digest": doc.Digest, "method": sig.Method}
			if doc.MonitoringNotice != "" {
				after["notice_acknowledged"] = sig.NoticeAcknowledged
			}
			if sig.Method == SignPortal {
				after["address"] = sig.Address
			} else {
				after["form_date"], after["witness"] = FormatDate(sig.FormDate), sig.Witness
			}
			if err := d.Record(ctx, tx, actor, audit.ActionAUPSign, audit.AccountTarget(a.Username), nil, after); err != nil {
				return err
			}
			out[i] = sig
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record AUP signature: %w", err)
	}
	return out, nil
}

// RecordConsent records a parent's or carer's permission for a pupil,
// against the current permission form when one is published. Method
// defaults to paper; GivenAt (the date on the form) must not be in the
// future.
func (d *Directory) RecordConsent(ctx context.Context, actor string, a Account, c Consent) (Consent, error) {
	now := d.Now()
	c.ParentName, c.Relationship = strings.TrimSpace(c.ParentName), strings.TrimSpace(c.Relationship)
	if c.Decision == "" {
		c.Decision = ConsentAgreed
	}
	switch {
	case c.Decision != ConsentAgreed && c.Decision != ConsentRefused && c.Decision != ConsentWithdrawn:
		return c, fmt.Errorf("consent for %s: %w", a.Username, invalid("A consent is agreed, refused or withdrawn, not %q.", c.Decision))
	case !d.gate.Policy.NeedsConsent(a):
		return c, fmt.Errorf("consent for %s: %w", a.Username, invalid("Parental consent is only for pupils."))
	case c.ParentName == "" || c.Relationship == "":
		return c, fmt.Errorf("consent for %s: %w", a.Username, invalid("Give the name of the parent or carer and how they are related."))
	case c.GivenAt.IsZero() || c.GivenAt.After(now):
		return c, fmt.Errorf("consent for %s: %w", a.Username, invalid("Give the date on the consent form (not in the future)."))
	}
	if c.Method == "" {
		c.Method = SignPaper
	}
	c.ID, c.AccountID, c.WithdrawnAt = 0, a.ID, time.Time{}
	if c.RecordedBy == "" {
		c.RecordedBy = actor
	}
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		docs, err := tx.AUPDocuments(ctx)
		if err != nil {
			return err
		}
		c.DocumentID = 0
		if doc, ok := current(DocumentsFor(docs, a.School), d.gate.Policy.consentAudience(), now); ok {
			c.DocumentID = doc.ID
		}
		if c.Decision != ConsentAgreed {
			// A refusal or a withdrawal ends every agreement in force.
			old, err := tx.Consents(ctx, a.ID)
			if err != nil {
				return err
			}
			for _, o := range old {
				if o.Decision.agreed() && (o.WithdrawnAt.IsZero() || now.Before(o.WithdrawnAt)) {
					if _, err := tx.UpdateConsent(ctx, o.ID, func(o *Consent) error { o.WithdrawnAt = now; return nil }); err != nil {
						return err
					}
				}
			}
		}
		if err := tx.AddConsent(ctx, &c); err != nil {
			return err
		}
		action := map[ConsentDecision]audit.Action{ConsentAgreed: audit.ActionConsentAdd, ConsentRefused: audit.ActionConsentRefuse,
			ConsentWithdrawn: audit.ActionConsentRemove}[c.Decision]
		return d.Record(ctx, tx, actor, action, audit.AccountTarget(a.Username), nil, map[string]any{
			"consent_id": c.ID, "decision": c.Decision, "document_id": c.DocumentID, "parent_name": c.ParentName, "relationship": c.Relationship,
			"given_at": c.GivenAt, "method": c.Method})
	})
	if err != nil {
		return c, fmt.Errorf("record consent for %s: %w", a.Username, err)
	}
	if c.Decision != ConsentAgreed {
		d.EndAccess(ctx, a)
	}
	return c, nil
}

// WithdrawConsent withdraws every consent of a in force now, and ends a's
// network access (after the change has committed). ErrNotFound when none
// is in force.
func (d *Directory) WithdrawConsent(ctx context.Context, actor string, a Account) (int, error) {
	now := d.Now()
	n := 0
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		cs, err := tx.Consents(ctx, a.ID)
		if err != nil {
			return err
		}
		var ids []int64
		for _, c := range cs {
			if c.WithdrawnAt.IsZero() || now.Before(c.WithdrawnAt) {
				if _, err := tx.UpdateConsent(ctx, c.ID, func(c *Consent) error { c.WithdrawnAt = now; return nil }); err != nil {
					return err
				}
				ids = append(ids, c.ID)
			}
		}
		if len(ids) == 0 {
			return fmt.Errorf("%s has no parental consent in force: %w", a.Username, ErrNotFound)
		}
		n = len(ids)
		return d.Record(ctx, tx, actor, audit.ActionConsentRemove, audit.AccountTarget(a.Username), nil,
			map[string]any{"consent_ids": ids, "withdrawn_at": now})
	})
	if err != nil {
		return 0, fmt.Errorf("withdraw consent: %w", err)
	}
	d.EndAccess(ctx, a)
	return n, nil
}
