package main

// RADIUSSection configures the RADIUS frontend.
type RADIUSSection struct {
	// Enabled starts the frontend in keystage serve.
	Enabled bool `toml:"enabled"`
}

func defaultRADIUS() RADIUSSection { return RADIUSSection{} }

func (s *RADIUSSection) validate(p *problems) {}

// demo sets the section up for keystage demo, with generated files in dir.
func (s *RADIUSSection) demo(dir string) { s.Enabled = true }

const exampleRADIUS = `
[radius]
enabled = false
`
