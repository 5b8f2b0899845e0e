package main

import (
	"keystage.dev/keystage/branding"
)

// BrandingSettings are a school's look beyond its name: at the top level
// for the trust (or a single school), in a [[schools]] table for that
// school. Both are optional; a school without its own shows the trust's.
type BrandingSettings struct {
	// Logo is a PNG or SVG file (at most 256 KiB; an SVG with no script
	// or outside reference), read when the configuration is.
	Logo string `toml:"logo"`
	// AccentColour is #RRGGBB: links, buttons and the header's rule in the
	// portal, the slips' border. White text must stay readable on it
	// (4.5:1).
	AccentColour string `toml:"accent_colour"`
}

// brand reads and checks the settings; where names the table in messages.
func (b BrandingSettings) brand(where string, p *problems) branding.Brand {
	var out branding.Brand
	if b.AccentColour != "" {
		a, err := branding.ParseAccent(b.AccentColour)
		if err != nil {
			p.add("%saccent_colour: %v", where, err)
		}
		out.Accent = a
	}
	if b.Logo != "" {
		l, err := branding.LoadLogo(b.Logo)
		if err != nil {
			p.add("%slogo: %v", where, err)
		}
		out.Logo = l
	}
	return out
}

// validateBranding checks every logo and colour and keeps what they make
// for the portal and the slips (c.brands).
func (c *Config) validateBranding(p *problems) {
	set := &branding.Set{Trust: c.BrandingSettings.brand("", p), Schools: map[string]branding.Brand{}}
	for _, s := range c.Schools {
		set.Schools[s.ID] = s.BrandingSettings.brand("schools "+quoteID(s.ID)+": ", p)
	}
	if set.Empty() {
		set = nil
	}
	c.brands = set
}

func quoteID(id string) string { return `"` + id + `"` }

// exampleBranding is the top level's branding, in the example beside
// school.
const exampleBranding = `# The portal's and the slips' look (docs/portal.md): a logo file (PNG or SVG,
# at most 256 KiB) and an accent colour #RRGGBB dark enough for white text
# (4.5:1). A trust's school may set its own in its [[schools]] table.
logo = ""
accent_colour = ""
`
