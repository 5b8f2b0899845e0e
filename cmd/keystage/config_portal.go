package main

// PortalSection configures the Portal frontend.
type PortalSection struct {
	// Enabled starts the frontend in keystage serve.
	Enabled bool `toml:"enabled"`
}

func defaultPortal() PortalSection { return PortalSection{} }

func (s *PortalSection) validate(p *problems) {}

// demo sets the section up for keystage demo, with generated files in dir.
func (s *PortalSection) demo(dir string) { s.Enabled = true }

const examplePortal = `
[portal]
enabled = false
`
