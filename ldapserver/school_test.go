package ldapserver_test

import (
	"context"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/ldapserver/ldaptest"
)

// TestSchoolAsOU: a person's school in a trust is their ou (then the
// schools they are also registered at), and an application finds a
// school's people with (ou=north); the trust's own staff and a single
// school's people have none.
func TestSchoolAsOU(t *testing.T) {
	ctx := context.Background()
	srv := ldaptest.Start(t, ldaptest.Options{})
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		for _, a := range []directory.Account{
			{Username: "npupil", School: "north", GivenName: "Nia", FamilyName: "North"},
			{Username: "dpupil", School: "south", AlsoSchools: []string{"north"}, GivenName: "Dee", FamilyName: "Dual"},
		} {
			a.Role, a.Source, a.YearGroup = directory.RolePupil, directory.SourceManual, "8"
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "ou"})
	}); err != nil {
		t.Fatal(err)
	}
	l := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	res, err := l.Search(ldap.NewSearchRequest("ou=people,"+base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=posixAccount)(ou=north))", []string{"uid", "ou"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, e := range res.Entries {
		got[e.GetAttributeValue("uid")] = e.GetAttributeValues("ou")
	}
	if len(got) != 2 || !slices.Equal(got["npupil"], []string{"north"}) || !slices.Equal(got["dpupil"], []string{"south", "north"}) {
		t.Errorf("(ou=north) = %v", got)
	}
	res, err = l.Search(ldap.NewSearchRequest(person(ldaptest.Teacher), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"ou"}, nil))
	if err != nil || len(res.Entries) != 1 || len(res.Entries[0].GetAttributeValues("ou")) != 0 {
		t.Errorf("a person of no school has an ou: %v %+v", err, res)
	}
}
