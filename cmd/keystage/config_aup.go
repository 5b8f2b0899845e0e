package main

import (
	"slices"

	"keystage.dev/keystage/directory"
)

// AUPSection configures the AUP audiences beyond the built-in ones
// (staff, pupil-ks1, pupil-ks2, pupil, community, parent-permission) and
// which accounts must sign them.
type AUPSection struct {
	// ConsentAudience is the audience of the parental permission form.
	ConsentAudience string `toml:"consent_audience"`
	// Audiences added here: each is signed by the accounts it matches, in
	// addition to the built-in audience of their role and year.
	Audiences []AUPAudience `toml:"audience"`
}

// AUPAudience is one audience added in configuration. An account must
// sign it when it matches every list that is set: one of Roles, one of
// Years, one of RegGroups. With no list set it matches nobody (publishing
// for it is still allowed).
type AUPAudience struct {
	Name      string   `toml:"name"`
	Roles     []string `toml:"roles"`
	Years     []string `toml:"years"`
	RegGroups []string `toml:"reg_groups"`
}

func defaultAUP() AUPSection { return AUPSection{ConsentAudience: "parent-permission"} }

func (s *AUPSection) validate(p *problems) {
	if s.ConsentAudience == "" {
		p.add("aup.consent_audience: empty (the default is parent-permission)")
	}
	seen := map[string]bool{}
	for i, a := range s.Audiences {
		switch {
		case a.Name == "":
			p.add("aup.audience[%d]: give it a name", i)
		case directory.ValidUsername(a.Name) != nil:
			p.add("aup.audience %q: use lower-case letters, digits and '-', like sixth-form", a.Name)
		case seen[a.Name]:
			p.add("aup.audience %q: named twice", a.Name)
		}
		seen[a.Name] = true
		for _, r := range a.Roles {
			if _, err := directory.ParseRole(r); err != nil {
				p.add("aup.audience %q: roles: %v", a.Name, err)
			}
		}
	}
}

func (a AUPAudience) matches(acct directory.Account) bool {
	if len(a.Roles) == 0 && len(a.Years) == 0 && len(a.RegGroups) == 0 {
		return false
	}
	return (len(a.Roles) == 0 || slices.Contains(a.Roles, string(acct.Role))) &&
		(len(a.Years) == 0 || slices.Contains(a.Years, acct.YearGroup)) &&
		(len(a.RegGroups) == 0 || slices.Contains(a.RegGroups, acct.RegGroup))
}

// gatePolicy is the part of the gate's policy this section sets: the
// built-in audiences (directory.DefaultAudiences) stay, and the added
// ones follow.
func (s AUPSection) gatePolicy(p directory.GatePolicy) directory.GatePolicy {
	p.ConsentAudience = s.ConsentAudience
	if len(s.Audiences) == 0 {
		return p
	}
	extra := slices.Clone(s.Audiences)
	for _, a := range extra {
		p.ExtraAudiences = append(p.ExtraAudiences, a.Name)
	}
	p.Audiences = func(acct directory.Account) []string {
		out := directory.DefaultAudiences(acct)
		for _, a := range extra {
			if a.matches(acct) {
				out = append(out, a.Name)
			}
		}
		return out
	}
	return p
}

const exampleAUP = `
[aup]
# The audience of the parental permission form that pupils need.
consent_audience = "parent-permission"
# Audiences beyond the built-in staff, pupil-ks1 (Reception to Year 2),
# pupil-ks2 (Years 3 to 6), pupil (Year 7 on), community (guests). An account
# signs the audiences it matches (every list set must match) as well as its
# built-in one.
# [[aup.audience]]
# name = "sixth-form"
# roles = ["pupil"]
# years = ["12", "13"]
# reg_groups = []
`
