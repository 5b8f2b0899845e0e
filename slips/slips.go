// Package slips prints first passwords for the people they are given to:
// an HTML page of slips that a browser prints on A4 (one slip, or a grid
// for a class), and a CSV for a mail merge. It holds no password: the
// caller passes them in, and what is written goes to a file the caller
// opens 0600, to be printed and deleted, never kept (a password is never
// stored without encryption).
package slips

import (
	"encoding/csv"
	"html/template"
	"io"
	"time"

	"keystage.dev/keystage/branding"
)

// Slip is one person's first password.
type Slip struct {
	Name      string
	Username  string
	Group     string // registration group or role, to sort the slips out
	Password  string
	ExpiresAt time.Time
	// School is the person's school id, for its logo and accent colour;
	// SchoolName, when set, is shown instead of the sheet's School.
	School     string
	SchoolName string
}

// Sheet is a set of slips with what every slip says.
type Sheet struct {
	School    string
	PortalURL string
	// WiFi says how to join the Wi-Fi (the network name, and where the
	// Wi-Fi password is found).
	WiFi     string
	Location *time.Location
	Slips    []Slip
	// Skipped are the people given no password, with why: shown on
	// screen, not printed.
	Skipped []string
	// Stylesheet, when set, is linked instead of putting CSS in the page
	// (for a server whose Content-Security-Policy forbids inline style:
	// it serves CSS at that address). The branding is then linked where
	// the portal serves it (branding.CSSPath, branding.LogoPath) rather
	// than put in the page.
	Stylesheet string
	// Branding gives each slip its school's logo and accent colour (the
	// trust's where the school has none); nil: none.
	Branding *branding.Set
}

// CSS is the slips' style: A4, two slips across, each kept whole on a
// page.
const CSS = `@page { size: A4 portrait; margin: 10mm; }
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; margin: 0; color: #000; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 4mm; }
.slip { border: 1px dashed var(--accent, #555); border-left-width: 2mm; padding: 4mm 5mm; break-inside: avoid; page-break-inside: avoid; height: 64mm; overflow: hidden; }
.school { font-size: 10pt; color: #333; margin: 0 0 1mm; }
.logo { float: right; max-height: 12mm; max-width: 30mm; margin: 0 0 1mm 2mm; }
.name { font-size: 13pt; font-weight: bold; margin: 0 0 2mm; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 1mm 3mm; margin: 0 0 2mm; font-size: 11pt; }
dt { color: #333; } dd { margin: 0; }
.pw { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 15pt; font-weight: bold; letter-spacing: .05em; }
.note { font-size: 9pt; margin: 0; }
.screen { margin: 4mm 0; font-size: 10pt; }
@media print { .screen { display: none; } }
`

var page = template.Must(template.New("slips").Funcs(template.FuncMap{
	"css": func() template.CSS { return template.CSS(CSS) },
	"date": func(t time.Time, loc *time.Location) string {
		if loc == nil {
			loc = time.UTC
		}
		return t.In(loc).Format("Mon 2 Jan 2006")
	},
}).Parse(`<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="robots" content="noindex">
<title>First passwords – {{.School}}</title>
{{if .Stylesheet}}<link rel="stylesheet" href="{{.Stylesheet}}">{{if .BrandCSS}}<link rel="stylesheet" href="{{.BrandCSSPath}}">{{end}}{{else}}<style>{{css}}{{.BrandCSS}}</style>{{end}}</head><body>
{{if .Slips}}<p class="screen">Print this page (Ctrl+P), cut out the slips and give each to its person. Then close it: the passwords are not kept anywhere, and this page must not be saved.</p>{{else}}<p class="screen">Nobody was given a first password.</p>{{end}}
{{with .Skipped}}<div class="screen"><p>Not given a first password:</p><ul>{{range .}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
<div class="grid">
{{range .Slips}}<section class="slip{{with $.Class .School}} {{.}}{{end}}">
{{with $.LogoSrc .School}}<img class="logo" src="{{.}}" alt="">{{end}}
<p class="school">{{or .SchoolName $.School}}</p>
<p class="name">{{.Name}}{{if .Group}} <small>({{.Group}})</small>{{end}}</p>
<dl>
<dt>Username</dt><dd class="pw">{{.Username}}</dd>
<dt>First password</dt><dd class="pw">{{.Password}}</dd>
<dt>Sign in at</dt><dd>{{$.PortalURL}}</dd>
</dl>
<p class="note">You will choose your own new password when you first sign in. This password stops working on {{date .ExpiresAt $.Location}} if it is not used.</p>
{{if $.WiFi}}<p class="note"><b>Wi-Fi:</b> {{$.WiFi}}</p>{{end}}
</section>
{{end}}</div>
</body></html>
`))

// WriteHTML writes the sheet as one HTML page that prints on A4, two
// slips across.
func WriteHTML(w io.Writer, s Sheet) error {
	return page.Execute(w, sheetView{s})
}

// sheetView is a Sheet as the page reads it, with its branding.
type sheetView struct{ Sheet }

// BrandCSS is the accents' stylesheet: checked colours only
// (branding.ParseAccent), so it is safe in the page.
func (v sheetView) BrandCSS() template.CSS { return template.CSS(v.Branding.CSS()) }

// BrandCSSPath is where the portal serves BrandCSS.
func (v sheetView) BrandCSSPath() string { return branding.CSSPath }

// Class is a slip's class for its school's accent.
func (v sheetView) Class(school string) string {
	if v.Branding == nil || !branding.ClassSafe(school) || v.Branding.Schools[school].Accent == "" {
		return ""
	}
	return "school-" + school
}

// LogoSrc is where a slip's logo comes from: the portal's address, or the
// checked logo itself in the page.
func (v sheetView) LogoSrc(school string) any {
	id, ok := v.Branding.LogoOf(school)
	if !ok {
		return nil
	}
	if v.Stylesheet != "" {
		return branding.LogoPath(id)
	}
	return template.URL(v.Branding.LogoByPath(id).DataURL()) // checked by branding.ParseLogo
}

// WriteCSV writes the sheet for a mail merge: a header row, then one row a
// person. Cells that a spreadsheet would run as a formula are quoted with
// a leading apostrophe.
func WriteCSV(w io.Writer, s Sheet) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"name", "username", "group", "first_password", "expires", "portal", "wifi", "school"}); err != nil {
		return err
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, sl := range s.Slips {
		row := []string{sl.Name, sl.Username, sl.Group, sl.Password, sl.ExpiresAt.In(loc).Format("2006-01-02"), s.PortalURL, s.WiFi, s.School}
		for i, c := range row {
			row[i] = cell(c)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from reading a name like "=HYPERLINK(…)" as a
// formula (CSV injection).
func cell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
