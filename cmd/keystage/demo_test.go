package main

import (
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

// The demo's printed passwords follow the school's own rules, so that what
// a newcomer types is what the policy would accept.
func TestDemoPasswordsPassThePolicy(t *testing.T) {
	pols := passwords.DefaultPolicies()
	for _, c := range []struct {
		pw   string
		role directory.Role
	}{{demoStaffPassword, directory.RoleStaff}, {demoPupilPassword, directory.RolePupil}} {
		a := directory.Account{Username: "26jdoe", Role: c.role, GivenName: "Jane", FamilyName: "Doe", YearGroup: "7"}
		p := pols[directory.PolicyName(a)]
		if vs := p.Check(c.pw, passwords.Person{Username: a.Username, GivenName: a.GivenName, FamilyName: a.FamilyName}); len(vs) > 0 {
			t.Errorf("demo %s password %q breaks the policy: %v", c.role, c.pw, vs)
		}
	}
}
