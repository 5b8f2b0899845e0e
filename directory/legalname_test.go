package directory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// TestLegalNameInRegisterAndWithheld: people see the preferred name; the
// register (for auditors) also gives the legal name, and neither the
// register nor the subject access export shows it once withheld, by an
// audited change.
func TestLegalNameInRegisterAndWithheld(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := directory.Account{Username: "26knguyen", Role: directory.RolePupil, Source: directory.SourceMIS, MISID: "P1",
		Status: directory.StatusActive, GivenName: "Thị Minh Khai", FamilyName: "Nguyễn", DisplayName: "Khai Nguyễn", YearGroup: "7"}
	f.act(t, day(2026, 10, 6), "account.create", "account:26knguyen", nil, a.Snapshot(), func(ctx context.Context, tx directory.Tx) error {
		return tx.CreateAccount(ctx, &a)
	})
	if a.Name() != "Khai Nguyễn" || a.LegalName() != "Thị Minh Khai Nguyễn" {
		t.Fatalf("names: shown %q, legal %q", a.Name(), a.LegalName())
	}
	row := f.register(t, time.Time{})["26knguyen"]
	if row.Name != "Khai Nguyễn" || row.LegalName != "Thị Minh Khai Nguyễn" {
		t.Fatalf("register: name %q legal %q", row.Name, row.LegalName)
	}
	pastRow := func(asOf time.Time) audit.RegisterRow {
		var out audit.RegisterRow
		if err := f.d.Register(ctx, asOf, func(r audit.RegisterRow) error {
			if r.Username == "26knguyen" {
				out = r
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	f.now = day(2026, 10, 8)
	b, changed, err := f.d.SetLegalNameWithheld(ctx, "user:dsl", "26knguyen", true)
	if err != nil || !changed || !b.LegalNameWithheld {
		t.Fatalf("withhold: %+v %v %v", b, changed, err)
	}
	if got, _ := f.s.AccountByUsername(ctx, "26knguyen"); !got.LegalNameWithheld {
		t.Fatal("the flag was not stored")
	}
	if _, changed, _ := f.d.SetLegalNameWithheld(ctx, "user:dsl", "26knguyen", true); changed {
		t.Error("withholding twice changed something")
	}
	evs, _ := f.s.AuditEvents(ctx, 0, 100)
	found := false
	for _, e := range evs {
		if e.Action == audit.ActionAccountLegalName && e.Actor == "user:dsl" && strings.Contains(string(e.After), `"legal_name_withheld":true`) &&
			!strings.Contains(string(e.Before), `"legal_name_withheld"`) {
			found = true
		}
	}
	if !found {
		t.Error("withholding left no audit event")
	}
	row = f.register(t, time.Time{})["26knguyen"]
	if row.Name != "Khai Nguyễn" || row.LegalName != "withheld" {
		t.Errorf("register once withheld: name %q legal %q", row.Name, row.LegalName)
	}
	var buf strings.Builder
	if err := f.d.PersonRecord(ctx, "26knguyen", time.UTC, &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Thị Minh Khai") || !strings.Contains(buf.String(), "Khai Nguyễn") {
		t.Errorf("the subject access export shows the withheld legal name, or not the preferred one:\n%s", buf.String())
	}
	// The register as of a past date, rebuilt from the trail: the legal
	// name before it was withheld, "withheld" after.
	if r := pastRow(day(2026, 10, 7)); r.Name != "Khai Nguyễn" || r.LegalName != "Thị Minh Khai Nguyễn" {
		t.Errorf("register as of 7 October: name %q legal %q", r.Name, r.LegalName)
	}
	if r := pastRow(day(2026, 10, 9)); r.Name != "Khai Nguyễn" || r.LegalName != "withheld" {
		t.Errorf("register as of 9 October: name %q legal %q", r.Name, r.LegalName)
	}
}
