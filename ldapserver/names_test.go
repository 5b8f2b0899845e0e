package ldapserver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/ldapserver/ldaptest"
)

// TestEntriesShowThePreferredName: cn, displayName, givenName and gecos
// carry the name a person is known by (Jack, not John; Khai, not Thị Minh
// Khai), and nothing of a withheld legal name reaches LDAP.
func TestEntriesShowThePreferredName(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	ctx := context.Background()
	edit := func(name string, fn func(a *directory.Account)) {
		t.Helper()
		err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			a, err := tx.AccountByUsername(ctx, name)
			if err != nil {
				return err
			}
			if _, err := tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error { fn(x); return nil }); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "account.update", Target: "account:" + name})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	edit(ldaptest.Pupil, func(a *directory.Account) {
		a.GivenName, a.FamilyName, a.DisplayName = "Thị Minh Khai", "Nguyễn", "Khai Nguyễn"
	})
	edit(ldaptest.Teacher, func(a *directory.Account) {
		a.GivenName, a.FamilyName, a.DisplayName, a.LegalNameWithheld = "Birthgiven", "Birthfamily", "Sam Carer", true
	})
	l := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	attrs := func(name string) map[string]string {
		e := search(t, l, base, ldap.ScopeWholeSubtree, "(uid="+name+")")[0]
		out := map[string]string{}
		for _, a := range []string{"cn", "displayName", "givenName", "sn", "gecos"} {
			out[a] = e.GetAttributeValue(a)
		}
		return out
	}
	p := attrs(ldaptest.Pupil)
	if p["cn"] != "Khai Nguyễn" || p["displayName"] != "Khai Nguyễn" || p["givenName"] != "Khai" || p["sn"] != "Nguyễn" {
		t.Errorf("pupil with a preferred name: %v", p)
	}
	w := attrs(ldaptest.Teacher)
	if w["cn"] != "Sam Carer" || w["givenName"] != "Sam" || w["sn"] != "Carer" {
		t.Errorf("withheld: %v", w)
	}
	for k, v := range w {
		if strings.Contains(v, "Birth") {
			t.Errorf("withheld legal name in %s: %q", k, v)
		}
	}
}
