package portal

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"keystage.dev/keystage/directory"
)

// pageTemplate is one page parsed together with the layout.
type pageTemplate struct{ t *template.Template }

// view is what every page template gets.
type view struct {
	Title   string
	School  string
	Me      *meView
	Data    any
	Path    string
	Sync    bool // the sync page exists
	Exports bool // the auditors' page exists
	// Forgotten is the sign-in page's "forgotten your password?" line.
	Forgotten string
	Classes   bool // teachers see their classes
	Brand     brandView
}

type meView struct {
	Username string
	Name     string
	Staff    bool
	Passkey  bool
	Roles    map[string]bool
	Guest    bool // guests have no password to change and no passkeys
	// FirstPasswords: the first-passwords page is theirs (technicians,
	// and teachers where configuration lets them).
	FirstPasswords bool
}

// markdown renders AUP text. Goldmark without the Unsafe option drops raw
// HTML and dangerous link targets, so a document cannot carry script. The
// document's headings are moved two levels down: the page has its own h1
// and each policy an h2, and a screen reader's outline must stay whole.
var markdown = goldmark.New(goldmark.WithParserOptions(
	parser.WithASTTransformers(util.Prioritized(headingShift{}, 100))))

type headingShift struct{}

func (headingShift) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			h.Level = min(h.Level+2, 6)
		}
		return ast.WalkContinue, nil
	})
}

func renderMarkdown(src string) (template.HTML, error) {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(src), &b); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

func parsePages(loc *time.Location) (map[string]*pageTemplate, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*pageTemplate{}
	for _, n := range names {
		base := n[len("templates/"):]
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(template.FuncMap{
			"date": func(t time.Time) string {
				if t.IsZero() {
					return ""
				}
				return t.In(loc).Format("2 Jan 2006")
			},
			"datetime": func(t time.Time) string {
				if t.IsZero() {
					return ""
				}
				return t.In(loc).Format("2 Jan 2006 15:04")
			},
			"markdown": renderMarkdown,
			"invalid":  invalidAttrs,
			"errfocus": errorFocus,
			"under":    under,
		}).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("portal: template %s: %w", base, err)
		}
		pages[base] = &pageTemplate{t: t}
	}
	return pages, nil
}

// invalidAttrs marks a form field that a failed submit found wrong: it is
// aria-invalid, described by the error message, and the first such field
// takes the focus when the page loads (autofocus, so without script too).
// data is a page's Data map; its "Invalid" entry lists the fields.
// describedBy names other elements that describe the field always (the
// password rules).
func invalidAttrs(data any, field string, describedBy ...string) template.HTMLAttr {
	m, _ := data.(map[string]any)
	fields, _ := m["Invalid"].([]string)
	for i, f := range fields {
		if f == field {
			a := ` aria-invalid="true" aria-describedby="` + template.HTMLEscapeString(strings.Join(append([]string{"form-error"}, describedBy...), " ")) + `"`
			if i == 0 {
				a += " autofocus"
			}
			return template.HTMLAttr(a)
		}
	}
	if len(describedBy) > 0 {
		return template.HTMLAttr(` aria-describedby="` + template.HTMLEscapeString(strings.Join(describedBy, " ")) + `"`)
	}
	return ""
}

// errorFocus is the error message's own focus when a failed submit names
// no field: the message itself is focused, so a screen reader starts there.
func errorFocus(data any) template.HTMLAttr {
	m, _ := data.(map[string]any)
	if fields, _ := m["Invalid"].([]string); len(fields) > 0 {
		return ` id="form-error" tabindex="-1"`
	}
	return ` id="form-error" tabindex="-1" autofocus`
}

// under says whether the page at path belongs to the section at prefix:
// the person page is part of "People" in the navigation.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// render writes a page. It renders into a buffer first so that a template
// failure is an error page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, rq *request, title string, data any) {
	p, ok := s.pages[page]
	if !ok {
		s.log.Error("portal: no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := view{Title: title, School: s.schoolName(rq), Data: data, Path: r.URL.Path,
		Sync: s.svc.Lifecycle != nil, Exports: s.svc.Exports != nil, Forgotten: s.cfg.FirstPasswords.Forgotten,
		Classes: s.cfg.TeachersSeeClasses, Brand: s.brandFor(rq)}
	if rq.signedIn() {
		me := &meView{Username: rq.acct.Username, Name: rq.acct.Name(), Staff: rq.acct.Role == "staff", Guest: rq.acct.Role == directory.RoleGuest,
			Passkey: rq.sess.Passkey, Roles: map[string]bool{}}
		for _, role := range rq.roles {
			me.Roles[string(role)] = true
		}
		me.FirstPasswords = rq.has(RoleTechnician) || (s.cfg.FirstPasswords.TeachersIssue && rq.acct.Role == directory.RoleStaff)
		v.Me = me
	}
	var b bytes.Buffer
	if err := p.t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		s.log.Error("portal: template", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
