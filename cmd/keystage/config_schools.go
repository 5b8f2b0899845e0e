package main

import (
	"slices"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/passwords"
)

// SchoolSection is one of a trust's schools ([[schools]]). With none, the
// Keystage is one school named by the school setting, and nothing is
// scoped.
type SchoolSection struct {
	// ID is the school's short id, what accounts, documents and commands
	// name (--school north). It never changes.
	ID string `toml:"id"`
	// Name is what people see: the portal's heading, slips.
	Name string `toml:"name"`
	// OrgIDs are the school's OneRoster org sourcedIds: a trust-wide export
	// is split by them (users' orgSourcedIds).
	OrgIDs []string `toml:"org_ids"`
	// Source is the school's own MIS export (oneroster:PATH or csv:PATH);
	// empty: its orgs in the trust's export ([sync] source).
	Source string `toml:"source"`
	// PasswordRoles are the school's own choice of password policy by role
	// (names of [passwords.policy] policies); a role left empty follows
	// [passwords.roles].
	PasswordRoles PolicyRoles `toml:"password_roles"`
	// BrandingSettings are the school's own logo and accent colour
	// (config_branding.go).
	BrandingSettings
}

func validateSchools(ss []SchoolSection, pols map[string]passwords.Policy, p *problems) {
	seen := map[string]bool{}
	orgs := map[string]string{}
	for i, s := range ss {
		if err := directory.ValidSchoolID(s.ID); err != nil {
			p.add("schools[%d].id: %v", i, err)
			continue
		}
		if seen[s.ID] {
			p.add("schools[%d].id %q: given twice", i, s.ID)
		}
		seen[s.ID] = true
		if s.Name == "" {
			p.add("schools %q: name is empty", s.ID)
		}
		for role, name := range map[string]string{"staff": s.PasswordRoles.Staff, "service": s.PasswordRoles.Service, "guest": s.PasswordRoles.Guest,
			"pupil_ks1": s.PasswordRoles.PupilKS1, "pupil_ks2": s.PasswordRoles.PupilKS2, "pupil": s.PasswordRoles.Pupil} {
			if _, ok := pols[name]; name != "" && !ok {
				p.add("schools %q: password_roles.%s: no policy named %q (have: %v)", s.ID, role, name, sortedKeys(pols))
			}
		}
		for _, o := range s.OrgIDs {
			if other, ok := orgs[o]; ok {
				p.add("schools %q: org %q is also %q's", s.ID, o, other)
			}
			orgs[o] = s.ID
		}
	}
}

// schools are the configured schools as the directory takes them; none
// for a single school.
func (c *Config) schools() []directory.School {
	out := make([]directory.School, len(c.Schools))
	for i, s := range c.Schools {
		out[i] = directory.School{ID: s.ID, Name: s.Name}
	}
	return out
}

// schoolNames are the trust's schools' names by id (nil for one school).
func (c *Config) schoolNames() map[string]string {
	if len(c.Schools) == 0 {
		return nil
	}
	out := make(map[string]string, len(c.Schools))
	for _, s := range c.Schools {
		out[s.ID] = s.Name
	}
	return out
}

// schoolName is what people see for a school id: the configured name, the
// trust's (the school setting) for the empty id.
func (c *Config) schoolName(id string) string {
	for _, s := range c.Schools {
		if s.ID == id {
			return s.Name
		}
	}
	return c.School
}

const exampleSchools = `
# A trust's schools, each a scope: its accounts, AUP documents, MIS export
# and staff roles (docs/trusts.md). None: one school, named by school above,
# and nothing to configure. One block per school:
# [[schools]]
# id = "north"                       # short and for ever: accounts and documents name it
# name = "Northgate Academy"         # what people see
# org_ids = ["org-north"]            # its OneRoster org sourcedIds in a trust-wide export
# source = ""                        # its own MIS export instead (oneroster:PATH or csv:PATH)
# password_roles = { pupil = "pupil-ks2" }   # its own policy for a role; the rest follow [passwords.roles]
# logo = "/etc/keystage/north.svg"   # its own logo and accent colour (see logo above)
# accent_colour = "#7a1f5c"
`

// schoolSources are where each school's people come from, for the sync.
func (c *Config) schoolSources() []lifecycle.SchoolSource {
	out := make([]lifecycle.SchoolSource, len(c.Schools))
	for i, s := range c.Schools {
		out[i] = lifecycle.SchoolSource{School: s.ID, Source: s.Source, OrgIDs: slices.Clone(s.OrgIDs)}
	}
	return out
}

// policyFor picks an account's password policy: its school's choice for
// its role when the school makes one, else [passwords.roles].
func (c *Config) policyFor(a directory.Account) string {
	if a.School != "" {
		for _, s := range c.Schools {
			if s.ID == a.School {
				if name := (PasswordsSection{Roles: s.PasswordRoles}).policyFor(a); name != "" {
					return name
				}
			}
		}
	}
	return c.Passwords.policyFor(a)
}
