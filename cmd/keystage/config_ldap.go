package main

// LDAPSection configures the LDAP frontend.
type LDAPSection struct {
	// Enabled starts the frontend in keystage serve.
	Enabled bool `toml:"enabled"`
}

func defaultLDAP() LDAPSection { return LDAPSection{} }

func (s *LDAPSection) validate(p *problems) {}

// demo sets the section up for keystage demo, with generated files in dir.
func (s *LDAPSection) demo(dir string) { s.Enabled = true }

const exampleLDAP = `
[ldap]
enabled = false
`
