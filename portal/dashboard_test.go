package portal_test

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestTechnicianDashboard: a technician's home shows the figures of the
// seeded store; no one else's home does.
func TestTechnicianDashboard(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	d := srv.Directory
	for i := 0; i < 5; i++ {
		d.Authenticate(ctx, portaltest.Safeguarding, fmt.Sprint("wrong", i), directory.ServiceLDAP, directory.Origin{ID: "ldap:192.0.2.1"})
	}
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.ReplaceSyncRefusals(ctx, []directory.SyncRefusal{{MISID: "M1", Line: 3, Reason: "no name"}, {MISID: "M2", Line: 4, Reason: "no name"}}); err != nil {
			return err
		}
		for _, n := range []string{"ap-hall", "ap-quiet"} {
			c := directory.NASClient{Name: n, Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}, Secret: "sealed", Vendor: "aruba"}
			if n == "ap-quiet" {
				c.Addresses = []netip.Prefix{netip.MustParsePrefix("192.0.2.11/32")}
			}
			if err := tx.PutNASClient(ctx, &c); err != nil {
				return err
			}
		}
		return d.Record(ctx, tx, "test", "test.seed", "test", nil, nil)
	}); err != nil {
		t.Fatal(err)
	}
	d.Lockout().Flush(ctx, d.Now())
	if err := srv.Store.NoteNASHeard(ctx, map[string]time.Time{"ap-hall": d.Now(), "ap-quiet": d.Now().Add(-3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}

	p := mustSignIn(t, srv, portaltest.Technician).get("/")
	if p.status != 200 || !strings.Contains(p.body, `id="dashboard"`) {
		t.Fatalf("technician's home: %d\n%s", p.status, p.body)
	}
	text := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(p.body, "")
	for _, want := range []string{
		"Pupils without parental consent: 0", // the seeded pupil has consent
		"MIS rows the sync refused: 2",
		"(due now: review access)",
		"ldap5", // five failures on LDAP
		"account, new devices" + portaltest.Safeguarding + "5",
		"ap-quiet", "quiet: check it is powered",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("dashboard lacks %q:\n%s", want, text)
		}
	}
	// The seeded pupil has not signed the pupil AUP in force.
	unsigned, err := srv.Directory.UnsignedAUPs(ctx, d.Now())
	if err != nil {
		t.Fatal(err)
	}
	var pupilRow string
	for _, u := range unsigned {
		if u.Audience == "pupil" {
			pupilRow = fmt.Sprintf("pupil%s%d", u.Version, u.N)
			if u.N < 1 {
				t.Errorf("the pupil AUP has %d still to sign, want the seeded pupil at least", u.N)
			}
		}
	}
	if pupilRow == "" || !strings.Contains(text, "Policies still to sign") || !strings.Contains(text, pupilRow) {
		t.Errorf("dashboard lacks the pupil AUP's unsigned count %q:\n%s", pupilRow, text)
	}
	if strings.Count(text, "quiet: check") != 1 {
		t.Errorf("ap-hall, heard just now, is marked quiet")
	}
	n, _ := srv.Store.CountAccounts(ctx, directory.AccountQuery{Role: directory.RoleStaff, Status: directory.StatusActive})
	if !strings.Contains(text, fmt.Sprintf("staff%d0", n)) {
		t.Errorf("staff accounts: want %d active, 0 disabled:\n%s", n, text)
	}
	for _, u := range []string{portaltest.Teacher, portaltest.Auditor, portaltest.Pupil} {
		if p := mustSignIn(t, srv, u).get("/"); strings.Contains(p.body, `id="dashboard"`) {
			t.Errorf("%s sees the technician's dashboard", u)
		}
	}
}
