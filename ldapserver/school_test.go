package ldapserver_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestRealClientsSchoolScope: OpenLDAP's ldapsearch finds a school's
// people by ou, and ldapwhoami binds are refused for the school whose
// AUP has a new version to sign, not for the other school.
func TestRealClientsSchoolScope(t *testing.T) {
	ctx := context.Background()
	srv := ldaptest.Start(t, ldaptest.Options{})
	const pw = "Heron-Lantern-Quarry-62"
	var people []directory.Account
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		for _, x := range [][2]string{{"nstaff", "north"}, {"sstaff", "south"}} {
			a := directory.Account{Username: x[0], School: x[1], Role: directory.RoleStaff, Source: directory.SourceManual, GivenName: "Pat", FamilyName: x[1]}
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			people = append(people, a)
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.seed", Target: "schools"})
	}); err != nil {
		t.Fatal(err)
	}
	docs, err := srv.Store.AUPDocuments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := srv.Dir.Now()
	trustDoc, ok := directory.CurrentDocument(docs, "staff", now)
	if !ok {
		t.Fatal("ldaptest publishes no staff AUP")
	}
	for _, a := range people {
		if err := srv.Dir.SetPassword(ctx, "test", a, pw); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Dir.RecordSignature(ctx, "test", a, directory.Signature{DocumentID: trustDoc.ID, Digest: trustDoc.Digest, Method: directory.SignPortal}); err != nil {
			t.Fatal(err)
		}
	}
	bind := []string{"-x", "-H", srv.URL, "-ZZ", "-D", service(ldaptest.Service), "-w", ldaptest.ServicePassword}
	out, _ := run(t, srv, true, "ldapsearch", append(bind, "-LLL", "-b", "ou=people,"+base, "(&(objectClass=posixAccount)(ou=north))", "uid", "ou")...)
	if !strings.Contains(out, "uid: nstaff") || !strings.Contains(out, "ou: north") || strings.Contains(out, "sstaff") {
		t.Errorf("ldapsearch (ou=north):\n%s", out)
	}
	whoami := func(user string, ok bool) string {
		t.Helper()
		out, errOut := run(t, srv, ok, "ldapwhoami", "-x", "-H", srv.URL, "-D", user+"@"+ldaptest.Domain, "-w", pw)
		return out + errOut
	}
	whoami("nstaff", true)
	doc := directory.AUPDocument{School: "north", Audience: "staff", Version: "north-2", Text: "# north-2", Digest: directory.Digest("# north-2"),
		PublishedAt: now.Add(-time.Minute), ResignFrom: now.Add(-time.Second)}
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddAUPDocument(ctx, &doc); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "aup.publish", Target: "aup:staff"})
	}); err != nil {
		t.Fatal(err)
	}
	if said := whoami("nstaff", false); !strings.Contains(said, "Invalid credentials (49)") || !strings.Contains(said, "aup-unsigned") {
		t.Errorf("north's member of staff after north-2: %s", said)
	}
	whoami("sstaff", true)
}
