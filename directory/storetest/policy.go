package storetest

import (
	"context"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

// testSuspensionScopeAndTalk: a suspension keeps its scope, the role that
// alone may lift it and the conversation recorded at the lift; one stored
// without a scope reads as the all scope.
func testSuspensionScopeAndTalk(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("graded", "G1"))
	from := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	net := directory.Suspension{AccountID: a.ID, From: from, Reason: "r", CreatedBy: "dsl", Scope: directory.SuspendInternet, LiftRole: "safeguarding"}
	plain := directory.Suspension{AccountID: a.ID, From: from.Add(time.Hour), Reason: "r", CreatedBy: "dsl"}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSuspension(ctx, &net); err != nil {
			return err
		}
		return tx.AddSuspension(ctx, &plain)
	})
	talk := from.Add(24 * time.Hour)
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.UpdateSuspension(ctx, net.ID, func(x *directory.Suspension) error {
			x.LiftedAt, x.LiftedBy, x.TalkWith, x.TalkAt, x.TalkNote = talk.Add(time.Hour), "head", "the head and the pupil's mother", talk, "agreed to use chat kindly"
			return nil
		})
		return err
	})
	got, err := s.Suspensions(ctx, a.ID)
	if err != nil || len(got) != 2 {
		t.Fatalf("suspensions: %+v %v", got, err)
	}
	g := got[0]
	if g.Scope != directory.SuspendInternet || g.LiftRole != "safeguarding" || g.TalkWith != "the head and the pupil's mother" ||
		!g.TalkAt.Equal(talk) || g.TalkNote != "agreed to use chat kindly" || g.LiftedBy != "head" {
		t.Errorf("round trip: %+v", g)
	}
	if got[1].Scope != directory.SuspendAll || got[1].LiftRole != "" || !got[1].TalkAt.IsZero() {
		t.Errorf("no scope given: %+v, want the all scope", got[1])
	}
}

// testConsentDecisions: a consent keeps its decision; a row without one
// reads as agreed; a refusal does not count as consent in MissingConsents.
func testConsentDecisions(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("refused", "C1"))
	b := mustCreate(t, s, pupil("agreed", "C2"))
	given := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	refusal := directory.Consent{AccountID: a.ID, ParentName: "Westshire Council", Relationship: directory.RelationshipLocalAuthority,
		GivenAt: given, Method: directory.SignPaper, Decision: directory.ConsentRefused}
	agreed := directory.Consent{AccountID: b.ID, ParentName: "Mo", Relationship: "carer", GivenAt: given, Method: directory.SignPaper}
	before, err := s.MissingConsents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddConsent(ctx, &refusal); err != nil {
			return err
		}
		return tx.AddConsent(ctx, &agreed)
	})
	got, err := s.Consents(ctx, a.ID)
	if err != nil || len(got) != 1 || got[0].Decision != directory.ConsentRefused || got[0].Relationship != directory.RelationshipLocalAuthority {
		t.Errorf("refusal round trip: %+v %v", got, err)
	}
	if got, err := s.Consents(ctx, b.ID); err != nil || len(got) != 1 || got[0].Decision != directory.ConsentAgreed {
		t.Errorf("no decision given: %+v %v, want agreed", got, err)
	}
	if after, err := s.MissingConsents(ctx); err != nil || after != before-1 {
		t.Errorf("missing consents %d then %d (%v): only the agreement counts", before, after, err)
	}
}

// testLegalHolds: a hold round-trips, OpenLegalHolds lists only those not
// lifted, and an update keeps who set it and when.
func testLegalHolds(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("held", "H1"))
	b := mustCreate(t, s, pupil("freed", "H2"))
	set := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ha := directory.LegalHold{AccountID: a.ID, Kind: directory.HoldSubjectAccess, Reason: "SAR from a parent", Reference: "SAR-9", SetBy: "dpo", SetAt: set}
	hb := directory.LegalHold{AccountID: b.ID, Kind: directory.HoldSafeguarding, Reason: "case", SetBy: "dsl", SetAt: set.Add(time.Hour)}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddLegalHold(ctx, &ha); err != nil {
			return err
		}
		return tx.AddLegalHold(ctx, &hb)
	})
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		y, err := tx.UpdateLegalHold(ctx, hb.ID, func(h *directory.LegalHold) error {
			h.LiftedBy, h.LiftedAt, h.LiftNote, h.SetBy = "dpo", set.Add(48*time.Hour), "case closed", "someone else"
			return nil
		})
		if err == nil && (y.SetBy != "dsl" || y.LiftNote != "case closed") {
			t.Errorf("update gave %+v", y)
		}
		return err
	})
	got, err := s.LegalHolds(ctx, a.ID)
	if err != nil || len(got) != 1 || got[0].Kind != directory.HoldSubjectAccess || got[0].Reference != "SAR-9" || !got[0].SetAt.Equal(set) || !got[0].Open() {
		t.Errorf("round trip: %+v %v", got, err)
	}
	got, err = s.LegalHolds(ctx, b.ID)
	if err != nil || len(got) != 1 || got[0].Open() || got[0].SetBy != "dsl" || got[0].LiftNote != "case closed" || !got[0].LiftedAt.Equal(set.Add(48*time.Hour)) {
		t.Errorf("lifted: %+v %v", got, err)
	}
	open, err := s.OpenLegalHolds(ctx)
	if err != nil || len(open) != 1 || open[0].ID != ha.ID {
		t.Errorf("open holds: %+v %v", open, err)
	}
}

// testMonitoringNotice: a document keeps its monitoring notice and a
// signature its acknowledgement; both default to none.
func testMonitoringNotice(t *testing.T, s directory.Store) {
	ctx := context.Background()
	a := mustCreate(t, s, pupil("noticed", "N1"))
	with := directory.AUPDocument{Audience: "pupil", Version: "n1", Text: "t", Digest: "d1", MonitoringNotice: "Use is monitored."}
	without := directory.AUPDocument{Audience: "pupil", Version: "n0", Text: "t", Digest: "d0", PublishedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddAUPDocument(ctx, &without); err != nil {
			return err
		}
		if err := tx.AddAUPDocument(ctx, &with); err != nil {
			return err
		}
		if err := tx.AddSignature(ctx, &directory.Signature{AccountID: a.ID, DocumentID: without.ID, Digest: "d0", SignedAt: time.Now(), Method: directory.SignPortal}); err != nil {
			return err
		}
		return tx.AddSignature(ctx, &directory.Signature{AccountID: a.ID, DocumentID: with.ID, Digest: "d1", SignedAt: time.Now(), Method: directory.SignPortal,
			NoticeAcknowledged: true})
	})
	d, err := s.AUPDocument(ctx, with.ID)
	if err != nil || d.MonitoringNotice != "Use is monitored." {
		t.Errorf("document: %+v %v", d, err)
	}
	if d, err := s.AUPDocument(ctx, without.ID); err != nil || d.MonitoringNotice != "" {
		t.Errorf("document without a notice: %+v %v", d, err)
	}
	sigs, err := s.Signatures(ctx, a.ID)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("signatures: %+v %v", sigs, err)
	}
	for _, sg := range sigs {
		if sg.NoticeAcknowledged != (sg.DocumentID == with.ID) {
			t.Errorf("signature of document %d: acknowledged %v", sg.DocumentID, sg.NoticeAcknowledged)
		}
	}
}
