package ldapserver

import (
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

func TestExcludedByClass(t *testing.T) {
	service := []string{"top", "account"}
	for _, tc := range []struct {
		filter   string
		excluded bool
	}{
		{"(&(objectClass=posixAccount)(uid=jo))", true},
		{"(objectClass=posixAccount)", true},
		{"(objectClass=ACCOUNT)", false}, // classes compare without case
		{"(&(objectClass=account)(uid=jo))", false},
		{"(|(objectClass=posixAccount)(objectClass=posixGroup))", true},
		{"(|(objectClass=posixAccount)(objectClass=account))", false},
		{"(|(objectClass=posixAccount)(uid=jo))", false},
		{"(!(objectClass=posixAccount))", false}, // a NOT is never taken as certain
		{"(objectClass=*)", false},
		{"(uid=jo)", false},
		{"(&(uid=jo)(|(objectClass=inetOrgPerson)(objectClass=posixAccount)))", true},
	} {
		f, err := ldap.CompileFilter(tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		// As the server sees it: decoded from the wire, then validated.
		p, err := ber.DecodePacketErr(f.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if err := validFilter(p, 0); err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		if got := excludedByClass(p, service); got != tc.excluded {
			t.Errorf("excludedByClass(%s, service classes) = %v, want %v", tc.filter, got, tc.excluded)
		}
	}
}
