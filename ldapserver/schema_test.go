package ldapserver_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/ldapserver/ldaptest"
)

// TestSubschemaAnonymousAndComplete: a client reads cn=Subschema before
// binding, as OpenLDAP allows, and finds every syntax, matching rule,
// attribute type and object class that the schema refers to.
func TestSubschemaAnonymousAndComplete(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := dial(t, srv) // never bound
	res, err := l.Search(ldap.NewSearchRequest("cn=Subschema", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=subschema)",
		[]string{"ldapSyntaxes", "matchingRules", "attributeTypes", "objectClasses"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("anonymous read of cn=Subschema: %v", err)
	}
	e := res.Entries[0]
	oidOf := regexp.MustCompile(`^\( ([0-9.]+) `)
	names := regexp.MustCompile(`NAME (?:'([^']+)'|\( ([^)]*) \))`)
	defined := func(attr string) (oids, byName map[string]bool) {
		oids, byName = map[string]bool{}, map[string]bool{}
		for _, v := range e.GetAttributeValues(attr) {
			m := oidOf.FindStringSubmatch(v)
			if m == nil {
				t.Errorf("%s value without an OID: %s", attr, v)
				continue
			}
			oids[m[1]] = true
			if n := names.FindStringSubmatch(v); n != nil {
				for _, name := range strings.Fields(strings.ReplaceAll(n[1]+" "+n[2], "'", "")) {
					byName[strings.ToLower(name)] = true
				}
			}
		}
		if len(oids) == 0 {
			t.Errorf("cn=Subschema has no %s", attr)
		}
		return oids, byName
	}
	syntaxes, _ := defined("ldapSyntaxes")
	_, rules := defined("matchingRules")
	_, attrs := defined("attributeTypes")
	_, classes := defined("objectClasses")

	syntaxRef := regexp.MustCompile(`SYNTAX ([0-9.]+)`)
	ruleRef := regexp.MustCompile(`(?:EQUALITY|ORDERING|SUBSTR) (\S+)`)
	supRef := regexp.MustCompile(`SUP (\w+)`)
	listRef := regexp.MustCompile(`(?:MUST|MAY) (?:\( ([^)]*) \)|(\w+))`)
	for _, v := range append(e.GetAttributeValues("matchingRules"), e.GetAttributeValues("attributeTypes")...) {
		for _, m := range syntaxRef.FindAllStringSubmatch(v, -1) {
			if !syntaxes[m[1]] {
				t.Errorf("syntax %s is not in ldapSyntaxes: %s", m[1], v)
			}
		}
	}
	for _, v := range e.GetAttributeValues("attributeTypes") {
		for _, m := range ruleRef.FindAllStringSubmatch(v, -1) {
			if !rules[strings.ToLower(m[1])] {
				t.Errorf("matching rule %s is not in matchingRules: %s", m[1], v)
			}
		}
		if m := supRef.FindStringSubmatch(v); m != nil && !attrs[strings.ToLower(m[1])] {
			t.Errorf("superior %s is not in attributeTypes: %s", m[1], v)
		}
	}
	for _, v := range e.GetAttributeValues("objectClasses") {
		if m := supRef.FindStringSubmatch(v); m != nil && !classes[strings.ToLower(m[1])] {
			t.Errorf("superior class %s is not in objectClasses: %s", m[1], v)
		}
		for _, m := range listRef.FindAllStringSubmatch(v, -1) {
			for _, a := range strings.Fields(strings.ReplaceAll(m[1]+" "+m[2], "$", " ")) {
				if !attrs[strings.ToLower(a)] {
					t.Errorf("attribute %s is not in attributeTypes: %s", a, v)
				}
			}
		}
	}
	// The rest of the tree still wants a bind.
	if _, err := l.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(uid=*)", nil, nil)); !ldap.IsErrorWithCode(err, 50) {
		t.Errorf("anonymous search of the tree: %v; want insufficientAccessRights", err)
	}
}

// TestLdapsearchReadsSubschemaAnonymously: OpenLDAP's own client, without
// binding, as a schema browser or SSSD does.
func TestLdapsearchReadsSubschemaAnonymously(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	out, _ := run(t, srv, true, "ldapsearch", "-x", "-H", srv.LDAPSURL, "-LLL", "-s", "base", "-b", "cn=Subschema",
		"(objectClass=subschema)", "ldapSyntaxes", "matchingRules", "attributeTypes", "objectClasses")
	for _, want := range []string{"dn: cn=Subschema", "ldapSyntaxes: ( 1.3.6.1.4.1.1466.115.121.1.15 DESC 'Directory String' )",
		"matchingRules: ( 2.5.13.2 NAME 'caseIgnoreMatch'", "objectClasses: ( 1.3.6.1.1.1.2.0 NAME 'posixAccount'", "attributeTypes: ( 1.3.6.1.1.1.1.0 NAME 'uidNumber'"} {
		if !strings.Contains(out, want) {
			t.Errorf("ldapsearch output lacks %q:\n%s", want, out)
		}
	}
}
