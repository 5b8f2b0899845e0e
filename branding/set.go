package branding

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Brand is one school's look; either part may be missing.
type Brand struct {
	Accent string // a colour ParseAccent accepted; empty: the portal's own
	Logo   *Logo
}

// Set is the branding of a Keystage: the trust's (or the single school's)
// and each school's own. A school without an accent or a logo of its own
// shows the trust's.
type Set struct {
	Trust   Brand
	Schools map[string]Brand // by school id (directory.ValidSchoolID)
}

// For is the brand of a school's people ("" for the trust's own and before
// anyone signs in): the school's own parts, the trust's where it has none.
func (s *Set) For(school string) Brand {
	if s == nil {
		return Brand{}
	}
	b := s.Trust
	if sb, ok := s.Schools[school]; ok && school != "" {
		if sb.Accent != "" {
			b.Accent = sb.Accent
		}
		if sb.Logo != nil {
			b.Logo = sb.Logo
		}
	}
	return b
}

// LogoOf is the school whose logo a person of school sees ("" for the
// trust's), and whether there is one at all.
func (s *Set) LogoOf(school string) (string, bool) {
	if s == nil {
		return "", false
	}
	if sb, ok := s.Schools[school]; ok && school != "" && sb.Logo != nil {
		return school, true
	}
	return "", s.Trust.Logo != nil
}

// LogoByPath is the logo served at LogoPath(school).
func (s *Set) LogoByPath(school string) *Logo {
	if s == nil {
		return nil
	}
	if school == "" {
		return s.Trust.Logo
	}
	return s.Schools[school].Logo
}

// Empty reports whether there is nothing to brand with.
func (s *Set) Empty() bool {
	if s == nil {
		return true
	}
	if s.Trust.Accent != "" || s.Trust.Logo != nil {
		return false
	}
	for _, b := range s.Schools {
		if b.Accent != "" || b.Logo != nil {
			return false
		}
	}
	return true
}

// CSS is the stylesheet of the accents: the trust's on the page
// (:root), each school's on an element of class "school-ID" (the page's
// body, a slip). Only checked colours and school ids are written.
func (s *Set) CSS() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	if s.Trust.Accent != "" {
		fmt.Fprintf(&b, ":root { --accent: %s; }\n", s.Trust.Accent)
	}
	for _, id := range slices.Sorted(maps.Keys(s.Schools)) {
		if a := s.Schools[id].Accent; a != "" && ClassSafe(id) {
			fmt.Fprintf(&b, ".school-%s { --accent: %s; }\n", id, a)
		}
	}
	return b.String()
}

// ClassSafe reports whether a school id may stand in a class name: lower
// case letters, digits and '-' (what a school id is).
func ClassSafe(id string) bool {
	if id == "" {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
