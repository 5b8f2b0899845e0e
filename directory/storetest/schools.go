package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"keystage.dev/keystage/directory"
)

// testSchools: an account keeps its school and dual registrations, a
// school's scope lists its own and its dual-registered pupils, the trust's
// scope its central staff; usernames stay unique across schools; an AUP
// document keeps its school.
func testSchools(t *testing.T, s directory.Store) {
	ctx := context.Background()
	n := pupil("25north", "MISN1")
	n.School = "north"
	n = mustCreate(t, s, n)
	dual := pupil("25dual", "MISD1")
	dual.School, dual.AlsoSchools = "south", []string{"north"}
	dual = mustCreate(t, s, dual)
	so := pupil("25south", "MISS1")
	so.School = "south"
	mustCreate(t, s, so)
	central := directory.Account{Username: "cfo", Role: directory.RoleStaff, Source: directory.SourceManual, GivenName: "Ceri", FamilyName: "Finance"}
	mustCreate(t, s, central)
	// A school whose id is a prefix or suffix of another's must not match it.
	nn := pupil("25northern", "MISNN")
	nn.School, nn.AlsoSchools = "northern", []string{"snorth"}
	mustCreate(t, s, nn)

	got, err := s.AccountByUsername(ctx, "25dual")
	if err != nil || got.School != "south" || !slices.Equal(got.AlsoSchools, []string{"north"}) {
		t.Fatalf("dual round trip: %+v %v", got, err)
	}
	names := func(q directory.AccountQuery) []string {
		t.Helper()
		as, err := s.ListAccounts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.Username)
		}
		c, err := s.CountAccounts(ctx, q)
		if err != nil || c != len(out) {
			t.Errorf("count %+v = %d, %v; listed %d", q, c, err, len(out))
		}
		return out
	}
	if got := names(directory.AccountQuery{School: "north"}); !slices.Equal(got, []string{"25north", "25dual"}) {
		t.Errorf("north scope = %v", got)
	}
	if got := names(directory.AccountQuery{School: "south", Role: directory.RolePupil}); !slices.Equal(got, []string{"25dual", "25south"}) {
		t.Errorf("south pupils = %v", got)
	}
	if got := names(directory.AccountQuery{School: directory.TrustScope}); !slices.Equal(got, []string{"cfo"}) {
		t.Errorf("trust scope = %v", got)
	}
	if got := names(directory.AccountQuery{}); len(got) != 5 {
		t.Errorf("everyone = %v", got)
	}

	// Moving school keeps the account; a second school may not reuse a name.
	update(t, s, func(ctx context.Context, tx directory.Tx) error {
		_, err := tx.UpdateAccount(ctx, n.ID, func(x *directory.Account) error {
			x.School, x.AlsoSchools = "south", nil
			return nil
		})
		return err
	})
	if got, err := s.Account(ctx, n.ID); err != nil || got.School != "south" || got.UUID != n.UUID || len(got.AlsoSchools) != 0 {
		t.Errorf("after move: %+v %v", got, err)
	}
	clash := pupil("25north", "MISX9")
	clash.School = "west"
	err = s.Update(ctx, func(ctx context.Context, tx directory.Tx) error { return tx.CreateAccount(ctx, &clash) })
	if !errors.Is(err, directory.ErrConflict) {
		t.Errorf("same username at another school: %v, want ErrConflict", err)
	}

	doc := directory.AUPDocument{Audience: "pupil", Version: "north-1", Text: "x", Digest: "d", School: "north"}
	update(t, s, func(ctx context.Context, tx directory.Tx) error { return tx.AddAUPDocument(ctx, &doc) })
	if got, err := s.AUPDocument(ctx, doc.ID); err != nil || got.School != "north" {
		t.Errorf("document school: %+v %v", got, err)
	}
	docs, err := s.AUPDocuments(ctx)
	if err != nil || len(docs) != 1 || docs[0].School != "north" {
		t.Errorf("documents: %+v %v", docs, err)
	}
}
