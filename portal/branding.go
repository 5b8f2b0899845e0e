package portal

import (
	"net/http"

	"keystage.dev/keystage/branding"
)

// brandingRoutes serves the accents' stylesheet and the logos. They are
// the same for everyone and hold nothing personal, so they are served
// before sign-in (the sign-in page shows the trust's) and may be cached;
// the ETag lets a browser check them cheaply once the hour is up.
func (s *Server) brandingRoutes(mux *http.ServeMux) {
	if s.cfg.Branding.Empty() {
		return
	}
	css := []byte(s.cfg.Branding.CSS())
	cssTag := branding.ETag(css)
	mux.HandleFunc("GET "+branding.CSSPath, func(w http.ResponseWriter, r *http.Request) {
		serveCached(w, r, "text/css; charset=utf-8", cssTag, css)
	})
	logo := func(w http.ResponseWriter, r *http.Request, school string) {
		l := s.cfg.Branding.LogoByPath(school)
		if l == nil {
			http.NotFound(w, r)
			return
		}
		// An SVG opened on its own is a document of this origin: it may
		// run nothing and load nothing.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
		serveCached(w, r, l.Type, l.ETag, l.Data)
	}
	mux.HandleFunc("GET "+branding.LogoPath(""), func(w http.ResponseWriter, r *http.Request) { logo(w, r, "") })
	mux.HandleFunc("GET "+branding.LogoPath("{school}"), func(w http.ResponseWriter, r *http.Request) {
		logo(w, r, r.PathValue("school"))
	})
}

// serveCached answers with data, cacheable for an hour and then checked
// by its ETag (304 when unchanged).
func serveCached(w http.ResponseWriter, r *http.Request, contentType, etag string, data []byte) {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	w.Write(data)
}

// brandView is what the layout shows of a person's school's branding.
type brandView struct {
	Stylesheet bool   // link branding.CSSPath
	Class      string // the body's class for the school's accent
	Logo       string // the logo's address; empty: none
}

// brandFor is the branding a person sees: their school's where it has its
// own, else the trust's; the trust's before signing in.
func (s *Server) brandFor(rq *request) brandView {
	b := s.cfg.Branding
	if b.Empty() {
		return brandView{}
	}
	school := ""
	if rq.signedIn() {
		school = rq.acct.School
	}
	v := brandView{Stylesheet: true}
	if school != "" && branding.ClassSafe(school) && b.Schools[school].Accent != "" {
		v.Class = "school-" + school
	}
	if id, ok := b.LogoOf(school); ok {
		v.Logo = branding.LogoPath(id)
	}
	return v
}
