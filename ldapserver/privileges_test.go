package ldapserver_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/ldapserver/ldaptest"
)

// A signed-in pupil sees their own groups only: not who else is in them,
// not who holds the staff group, and a search based at an entry they may
// not read answers noSuchObject, exactly as for an entry that does not
// exist.
func TestPupilSeesOnlyTheirOwnGroups(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := bound(t, srv, ldaptest.Pupil, ldaptest.PupilPassword)
	for _, f := range []string{"(cn=staff)", "(memberUid=" + ldaptest.Teacher + ")", "(member=" + person(ldaptest.Teacher) + ")",
		"(cn=" + ldaptest.Teacher + ")"} {
		if got := search(t, l, base, ldap.ScopeWholeSubtree, f); len(got) != 0 {
			t.Errorf("a pupil's search %s finds %v", f, dns(got))
		}
	}
	if got := dns(search(t, l, base, ldap.ScopeWholeSubtree, "(gidNumber>=0)")); len(got) != 5 {
		t.Errorf("a pupil's (gidNumber>=0) finds %v; want themself, their own group and their three groups", got)
	}
	for _, dn := range []string{"cn=staff,ou=groups," + base, person(ldaptest.Teacher), "cn=" + ldaptest.Teacher + ",ou=groups," + base,
		"cn=nogroup,ou=groups," + base, person("nobody"), service(ldaptest.Service)} {
		for _, scope := range []int{ldap.ScopeBaseObject, ldap.ScopeWholeSubtree} {
			_, err := l.Search(ldap.NewSearchRequest(dn, scope, 0, 0, 0, false, "(objectClass=*)", nil, nil))
			if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				t.Errorf("a pupil's search based at %s (scope %d): %v; want noSuchObject, as for what does not exist", dn, scope, err)
			}
		}
	}
	// Their own group, and the groups they are in, answer.
	for _, dn := range []string{"cn=7a,ou=groups," + base, "cn=" + ldaptest.Pupil + ",ou=groups," + base, person(ldaptest.Pupil)} {
		if got := search(t, l, dn, ldap.ScopeBaseObject, "(objectClass=*)"); len(got) != 1 {
			t.Errorf("a pupil's own %s: %v", dn, dns(got))
		}
	}
	// A granted service account (nslcd's) still reads every group.
	svc := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	if got := search(t, svc, base, ldap.ScopeWholeSubtree, "(&(objectClass=posixGroup)(memberUid="+ldaptest.Teacher+"))"); len(got) != 1 {
		t.Errorf("the service account sees the teacher's groups %v", dns(got))
	}
}

// Every person's primary gidNumber names their own group, with their
// username, and no other group: none of the stored groups has it.
func TestPrimaryGIDNamesTheirOwnGroup(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{People: 50})
	l := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	people := search(t, l, "ou=people,"+base, ldap.ScopeSingleLevel, "(objectClass=posixAccount)", "uid", "uidNumber", "gidNumber")
	groups := search(t, l, "ou=groups,"+base, ldap.ScopeSingleLevel, "(objectClass=posixGroup)", "cn", "gidNumber")
	byGID := map[string][]string{}
	for _, g := range groups {
		byGID[g.GetAttributeValue("gidNumber")] = append(byGID[g.GetAttributeValue("gidNumber")], g.GetAttributeValue("cn"))
	}
	if len(people) < 50 {
		t.Fatalf("%d people", len(people))
	}
	for _, p := range people {
		uid, gid := p.GetAttributeValue("uidNumber"), p.GetAttributeValue("gidNumber")
		if uid != gid {
			t.Errorf("%s: gidNumber %s is not their uidNumber %s", p.DN, gid, uid)
		}
		if names := byGID[gid]; !slices.Equal(names, []string{p.GetAttributeValue("uid")}) {
			t.Errorf("%s: gidNumber %s names groups %v; want only their own", p.DN, gid, names)
		}
		// As nss asks for it: by number and by name.
		got := search(t, l, base, ldap.ScopeWholeSubtree, "(&(objectClass=posixGroup)(gidNumber="+gid+"))", "cn")
		if len(got) != 1 || got[0].GetAttributeValue("cn") != p.GetAttributeValue("uid") {
			t.Errorf("getgrgid(%s): %v", gid, dns(got))
		}
	}
	for _, g := range groups {
		n, _ := strconv.ParseInt(g.GetAttributeValue("gidNumber"), 10, 64)
		own := directory.ValidUIDNumber(n) == nil
		if !own && n < directory.FirstGroupGID {
			t.Errorf("group %s has gidNumber %d, in the people's range", g.DN, n)
		}
		if own && !strings.HasPrefix(g.DN, "cn=") {
			t.Errorf("odd group %s", g.DN)
		}
	}
}
