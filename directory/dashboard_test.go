package directory_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

// TestDashboard: the figures of a technician's home against a seeded
// store: accounts, consents, a lock from real failed sign-ins and their sum
// by service, the refusal queue, the review's due date and the NAS clients
// with when they were last heard from.
func TestDashboard(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	jb := f.account(t, staff("jbloggs"), "Kestrel-Harbour-47")
	f.account(t, directory.Account{Username: "p1", Role: directory.RolePupil, GivenName: "A", FamilyName: "B"}, "")
	f.account(t, directory.Account{Username: "rgraham", Role: directory.RoleStaff, GivenName: "R", FamilyName: "G"}, "Kestrel-Harbour-48")
	// From a source jbloggs never signed in from: new devices are locked.
	for i := 0; i < 5; i++ {
		f.d.Authenticate(ctx, "jbloggs", fmt.Sprint("wrong", i), directory.ServiceLDAP, directory.Origin{ID: "ldap:192.0.2.1"})
	}
	f.d.Authenticate(ctx, "rgraham", "wrong", directory.ServiceWiFi, directory.Origin{ID: "radius:aa-bb@ap-hall"})
	f.d.Authenticate(ctx, "nobody", "wrong", directory.ServicePortal, directory.Origin{ID: "portal:addr:192.0.2.3"})
	f.d.Lockout().Flush(ctx, f.now)
	if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.ReplaceSyncRefusals(ctx, []directory.SyncRefusal{{MISID: "M1", Line: 3, Reason: "no name"}}); err != nil {
			return err
		}
		n := directory.NASClient{Name: "ap-hall", Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}, Secret: "sealed", Vendor: "aruba"}
		if err := tx.PutNASClient(ctx, &n); err != nil {
			return err
		}
		n = directory.NASClient{Name: "ap-quiet", Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.11/32")}, Secret: "sealed", Vendor: "generic"}
		if err := tx.PutNASClient(ctx, &n); err != nil {
			return err
		}
		// The staff and pupil AUPs are in force; one of the two staff has
		// signed the staff AUP, and the pupil nothing.
		staffAUP := directory.AUPDocument{Audience: "staff", Version: "2026.1", Text: "x", Digest: "s", PublishedAt: f.now.Add(-time.Hour)}
		pupilAUP := directory.AUPDocument{Audience: "pupil", Version: "2026.2", Text: "y", Digest: "p", PublishedAt: f.now.Add(-time.Hour)}
		for _, d := range []*directory.AUPDocument{&staffAUP, &pupilAUP} {
			if err := tx.AddAUPDocument(ctx, d); err != nil {
				return err
			}
		}
		if err := tx.AddSignature(ctx, &directory.Signature{AccountID: jb.ID, DocumentID: staffAUP.ID, Digest: "s", SignedAt: f.now.Add(-time.Minute), Method: directory.SignPortal}); err != nil {
			return err
		}
		return f.d.Record(ctx, tx, "test", "test.seed", "test", nil, nil)
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.NoteNASHeard(ctx, map[string]time.Time{"ap-hall": f.now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}

	db, err := f.d.Dashboard(ctx, directory.ReviewPolicy{Every: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(db.Accounts); got != "[{pupil active 1} {staff active 2}]" {
		t.Errorf("accounts %s", got)
	}
	if db.MissingConsents != 1 {
		t.Errorf("missing consents %d, want 1", db.MissingConsents)
	}
	if len(db.Blocks) != 1 || db.Blocks[0].Kind != "unfamiliar" || db.Blocks[0].Subject != "jbloggs" || db.Blocks[0].Failures != 5 || !db.Blocks[0].Until.After(f.now) {
		t.Errorf("blocks %+v", db.Blocks)
	}
	if got := fmt.Sprint(db.Failures); got != "[{ldap 5} {radius 1} {unknown username 1}]" || db.FailuresCapped {
		t.Errorf("failures by service %s (capped %v)", got, db.FailuresCapped)
	}
	if db.Refused != 1 {
		t.Errorf("refused %d", db.Refused)
	}
	if got := fmt.Sprint(db.Unsigned); got != "[{pupil 2026.2 1} {staff 2026.1 1}]" {
		t.Errorf("unsigned AUPs by audience %s, want the pupil and one of the two staff", got)
	}
	if !db.NextReview.Equal(f.now) {
		t.Errorf("never reviewed: due %v, want now", db.NextReview)
	}
	if got := fmt.Sprint(db.NAS); got != fmt.Sprint([]directory.NASHeard{{Name: "ap-hall", Vendor: "aruba", LastHeard: f.now.Add(-time.Minute)}, {Name: "ap-quiet", Vendor: "generic"}}) {
		t.Errorf("NAS %s", got)
	}
	// A lock that has run out is not a block.
	f.now = f.now.Add(time.Hour)
	if db, _ := f.d.Dashboard(ctx, directory.ReviewPolicy{}); len(db.Blocks) != 0 {
		t.Errorf("blocks an hour later: %+v", db.Blocks)
	}
}
