// Package branding holds a school's look beyond its name: an accent colour
// and a logo, checked once when the configuration is read so that the
// portal and the slips put only checked values in their pages. The colour
// is given to pages as a CSS custom property (--accent) in a stylesheet
// the portal serves, never as inline style; the logo is a PNG or an SVG
// with no script or outside reference. It reads no file itself except in
// LoadLogo, and holds no state.
package branding

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// MaxLogoBytes bounds a logo: it is sent with every page's header, and a
// slip sheet embeds it in each slip.
const MaxLogoBytes = 256 << 10

// Paths where the portal serves the branding; the slips link them when
// they are served by the portal.
const (
	CSSPath    = "/branding.css"
	logoPrefix = "/branding/logo/"
)

// LogoPath is where the portal serves a school's logo ("" for the trust's
// or the single school's).
func LogoPath(school string) string {
	if school == "" {
		return strings.TrimSuffix(logoPrefix, "/")
	}
	return logoPrefix + school
}

// Errors of a colour or a logo.
var (
	ErrColour       = errors.New("not a colour #RRGGBB")
	ErrContrast     = errors.New("too light")
	ErrLogoTooLarge = errors.New("logo too large")
	ErrLogoFormat   = errors.New("logo is neither a PNG nor an SVG")
	ErrSVGUnsafe    = errors.New("SVG holds a script or an outside reference")
)

// minContrast is WCAG's AA ratio for text: the accent colours links on
// white and is the background of buttons with white text.
const minContrast = 4.5

// ParseAccent checks an accent colour, #RRGGBB, and returns it in lower
// case. The colour must keep white text readable on it (and it readable
// on white): a contrast of at least 4.5:1.
func ParseAccent(s string) (string, error) {
	if len(s) != 7 || s[0] != '#' {
		return "", fmt.Errorf("accent colour %q: %w (for example #0b5cad)", s, ErrColour)
	}
	if _, err := hex.DecodeString(s[1:]); err != nil {
		return "", fmt.Errorf("accent colour %q: %w (for example #0b5cad)", s, ErrColour)
	}
	s = strings.ToLower(s)
	if c := contrastWithWhite(s); c < minContrast {
		return "", fmt.Errorf("accent colour %s: %w: its contrast with white is %.1f:1, and links and buttons need %.1f:1; choose a darker shade",
			s, ErrContrast, c, minContrast)
	}
	return s, nil
}

// contrastWithWhite is WCAG 2's contrast ratio of #rrggbb against white.
func contrastWithWhite(s string) float64 {
	lum := 0.0
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		lum += w * c
	}
	return 1.05 / (lum + 0.05)
}

// Logo is a checked logo.
type Logo struct {
	Type string // image/png or image/svg+xml
	Data []byte
	ETag string // a strong validator of Data, quoted
}

// DataURL is the logo inline, for a page saved to a file (slips printed
// from the command line).
func (l *Logo) DataURL() string {
	return "data:" + l.Type + ";base64," + base64.StdEncoding.EncodeToString(l.Data)
}

// LoadLogo reads and checks a logo file.
func LoadLogo(path string) (*Logo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // names the file and why
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxLogoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	l, err := ParseLogo(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// pngMagic opens every PNG file.
var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// ParseLogo checks a logo's bytes: at most MaxLogoBytes, a PNG whose
// header decodes, or an SVG (see checkSVG).
func ParseLogo(data []byte) (*Logo, error) {
	if len(data) > MaxLogoBytes {
		return nil, fmt.Errorf("%w: more than %d KiB; make it smaller", ErrLogoTooLarge, MaxLogoBytes>>10)
	}
	l := &Logo{Data: data}
	switch {
	case bytes.HasPrefix(data, pngMagic):
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: PNG: %v", ErrLogoFormat, err)
		}
		if cfg.Width == 0 || cfg.Height == 0 {
			return nil, fmt.Errorf("%w: PNG of no size", ErrLogoFormat)
		}
		l.Type = "image/png"
	default:
		if err := checkSVG(data); err != nil {
			return nil, err
		}
		l.Type = "image/svg+xml"
	}
	l.ETag = ETag(data)
	return l, nil
}

// ETag is a strong validator of data, quoted for the header.
func ETag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// checkSVG accepts an SVG document that can do nothing but draw: no
// script or foreignObject, no event attribute, no DOCTYPE (no entities),
// no stylesheet processing instruction, and links (href) only within
// itself (#id), so that it loads nothing from elsewhere.
func checkSVG(data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	root := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrLogoFormat, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return fmt.Errorf("%w: a DOCTYPE or other declaration", ErrSVGUnsafe)
		case xml.ProcInst:
			if t.Target != "xml" {
				return fmt.Errorf("%w: processing instruction %q", ErrSVGUnsafe, t.Target)
			}
		case xml.CharData:
			if root && len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text before the svg element", ErrLogoFormat)
			}
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			if root {
				if name != "svg" {
					return fmt.Errorf("%w: the document is <%s>, not <svg>", ErrLogoFormat, t.Name.Local)
				}
				root = false
			}
			if slices.Contains([]string{"script", "foreignobject", "iframe", "embed", "object", "handler", "listener"}, name) {
				return fmt.Errorf("%w: <%s>", ErrSVGUnsafe, t.Name.Local)
			}
			for _, a := range t.Attr {
				an, v := strings.ToLower(a.Name.Local), strings.TrimSpace(a.Value)
				switch {
				case strings.HasPrefix(an, "on"):
					return fmt.Errorf("%w: attribute %s", ErrSVGUnsafe, a.Name.Local)
				case an == "href" || an == "src":
					if !strings.HasPrefix(v, "#") {
						return fmt.Errorf("%w: %s=%q (only #id within the logo)", ErrSVGUnsafe, a.Name.Local, v)
					}
				case strings.Contains(strings.ToLower(v), "url(") && !urlsLocal(v):
					return fmt.Errorf("%w: %s=%q (only url(#id) within the logo)", ErrSVGUnsafe, a.Name.Local, v)
				}
			}
			if name == "style" {
				var css string
				if err := dec.DecodeElement(&css, &t); err != nil {
					return fmt.Errorf("%w: %v", ErrLogoFormat, err)
				}
				if strings.Contains(css, "@import") || (strings.Contains(strings.ToLower(css), "url(") && !urlsLocal(css)) {
					return fmt.Errorf("%w: a stylesheet that loads from elsewhere", ErrSVGUnsafe)
				}
			}
		}
	}
	if root {
		return fmt.Errorf("%w: empty", ErrLogoFormat)
	}
	return nil
}

// urlsLocal reports whether every url( in s is url(#…).
func urlsLocal(s string) bool {
	s = strings.ToLower(s)
	for {
		i := strings.Index(s, "url(")
		if i < 0 {
			return true
		}
		s = strings.TrimLeft(s[i+4:], " \t\r\n'\"")
		if !strings.HasPrefix(s, "#") {
			return false
		}
	}
}
