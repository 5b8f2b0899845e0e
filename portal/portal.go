package portal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"keystage.dev/keystage/branding"
	"keystage.dev/keystage/directory"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// StaffRole is a power in the portal, given by membership of a group.
type StaffRole string

// The staff roles.
const (
	RoleTechnician   StaffRole = "technician"   // find people, record paper forms, issue guests, run the sync
	RoleSafeguarding StaffRole = "safeguarding" // suspend and lift network access
	RoleAuditor      StaffRole = "auditor"      // download the register and the audit export; nothing else
	// RoleDataProtection is the data-protection officer's: set and lift
	// legal holds, beside the safeguarding role.
	RoleDataProtection StaffRole = "data-protection"
)

// WiFiSettings are what a person types into a phone or laptop.
type WiFiSettings struct {
	SSID string
	// EAPMethods in order of preference, as shown: "PEAP/MSCHAPv2", "TTLS/PAP".
	EAPMethods []string
	// ServerDomain is the name in the RADIUS server's certificate that
	// devices must check (Android's "Domain", iOS's trust prompt).
	ServerDomain string
}

// Config is what the portal needs besides the directory.
type Config struct {
	// PublicURL is how browsers reach the portal, e.g.
	// https://portal.school.example. Its host is the WebAuthn relying party
	// id, so it must be a name, not an IP address.
	PublicURL string
	// SchoolName is shown in the header and to passkey managers.
	SchoolName string
	WiFi       WiFiSettings
	// SessionLifetime is how long a sign-in lasts (default 8 hours).
	SessionLifetime time.Duration
	// IdleTimeout ends a sign-in that has made no request for this long
	// (zero: only SessionLifetime ends it). A session is noted as seen at
	// most once a minute, so the end comes up to a minute later.
	IdleTimeout time.Duration
	// SharedPC makes the sign-in cookie a session cookie (no Max-Age or
	// Expires): closing the browser on a shared computer signs out.
	SharedPC bool
	// RoleGroups maps each staff role to the groups whose members hold it.
	RoleGroups map[StaffRole][]string
	// PasskeyRoles are the staff roles whose powers need a session signed
	// in with a passkey.
	PasskeyRoles []StaffRole
	// Location is the school's time zone for times shown (nil: UTC).
	Location *time.Location
	// TrustedProxies are the reverse proxies in front of the portal: from
	// them, and only from them, ClientAddressHeader names the client.
	TrustedProxies []netip.Prefix
	// ClientAddressHeader is the header a trusted proxy puts the client's
	// address in (X-Forwarded-For, X-Real-IP); empty: none is read.
	ClientAddressHeader string
	// GuestPolicy is what a guest account is given (zero: defaults).
	Guests GuestSettings
	// RateLimits bound requests from people not yet signed in (zero:
	// defaults).
	RateLimits RateLimits
	// FirstPasswords configure first passwords and the sign-in page's
	// "forgotten your password?" line.
	FirstPasswords FirstPasswordSettings
	// TeachersSeeClasses gives staff a "Your classes" page: the pupils of
	// the MIS registration and teaching groups they are in.
	TeachersSeeClasses bool
	// Review is the access review's policy. With no privileged groups
	// named, the groups of RoleGroups are reviewed.
	Review directory.ReviewPolicy
	Log    *slog.Logger
	// SchoolNames are a trust's schools' names by id: a person of a school
	// sees theirs in the header and on slips (SchoolName is the trust's).
	SchoolNames map[string]string
	// Branding is the trust's and each school's logo and accent colour
	// (checked: package branding); a person sees their school's, and
	// everyone before signing in the trust's. Nil: the portal's own look.
	Branding *branding.Set
}

// GuestSettings bound guest access.
type GuestSettings struct {
	MaxLifetime time.Duration // longest expiry a sponsor may choose; default 14 days
}

// Services are the optional backends of staff pages that live in other
// packages. A nil field leaves its page out of the portal altogether.
type Services struct {
	// Lifecycle plans and applies the MIS sync and the leaver job.
	Lifecycle Lifecycle
	// Exports gives auditors the access register and the audit export.
	Exports Exports
}

// Server is the portal: an http.Handler.
type Server struct {
	store    Store
	d        Directory
	cfg      Config
	svc      Services
	origin   *url.URL
	wa       *webauthn.WebAuthn
	pages    map[string]*pageTemplate
	log      *slog.Logger
	cookie   string
	secure   bool
	handler  http.Handler
	loc      *time.Location
	lifetime time.Duration
	limits   limiters
	spent    spentSet // passkey challenges answered
}

// New builds the portal over the state and records in st, asking d for
// everything else and for every change. It checks the configuration and
// reports every problem at once.
func New(st Store, d Directory, cfg Config, svc Services) (*Server, error) {
	var problems []string
	u, err := url.Parse(cfg.PublicURL)
	switch {
	case cfg.PublicURL == "":
		problems = append(problems, "public URL is not set")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		problems = append(problems, fmt.Sprintf("public URL %q: want https://name[:port]", cfg.PublicURL))
	case u.Scheme == "http" && !loopbackName(u.Hostname()):
		problems = append(problems, fmt.Sprintf("public URL %q: plain http is only for localhost; use https", cfg.PublicURL))
	case isIP(u.Hostname()):
		problems = append(problems, fmt.Sprintf("public URL %q: passkeys need a host name, not an IP address (use localhost for a demo)", cfg.PublicURL))
	}
	for role := range cfg.RoleGroups {
		switch role {
		case RoleTechnician, RoleSafeguarding, RoleAuditor, RoleDataProtection:
		default:
			problems = append(problems, fmt.Sprintf("unknown staff role %q: use technician, safeguarding, auditor or data-protection", role))
		}
	}
	if st == nil || d == nil || d.Sealer() == nil {
		problems = append(problems, "no directory, or no key to seal with")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("portal: %s", strings.Join(problems, "; "))
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 8 * time.Hour
	}
	if cfg.SchoolName == "" {
		cfg.SchoolName = "Keystage"
	}
	if len(cfg.Review.PrivilegedGroups) == 0 {
		for _, gs := range cfg.RoleGroups {
			cfg.Review.PrivilegedGroups = append(cfg.Review.PrivilegedGroups, gs...)
		}
		slices.Sort(cfg.Review.PrivilegedGroups)
	}
	if cfg.Guests.MaxLifetime <= 0 {
		cfg.Guests.MaxLifetime = 14 * 24 * time.Hour
	}
	log := cfg.Log
	if log == nil {
		log = d.Log()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	origin := u.Scheme + "://" + u.Host
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: cfg.SchoolName,
		RPOrigins:     []string{origin},
	})
	if err != nil {
		return nil, fmt.Errorf("portal: passkeys: %w", err)
	}
	pages, err := parsePages(loc)
	if err != nil {
		return nil, err
	}
	s := &Server{store: st, d: d, cfg: cfg, svc: svc, origin: u, wa: wa, pages: pages, log: log, loc: loc, lifetime: cfg.SessionLifetime,
		limits: newLimiters(cfg.RateLimits)}
	// A __Host- cookie cannot be set by a sibling domain or scoped to a
	// path; browsers accept it only with Secure, which they honour on
	// https and on localhost.
	s.secure = true
	s.cookie = "__Host-keystage"
	if u.Scheme == "http" {
		s.cookie = "keystage"
	}
	s.handler = s.routes()
	return s, nil
}

func loopbackName(h string) bool { return h == "localhost" || strings.HasSuffix(h, ".localhost") }

func isIP(h string) bool { return net.ParseIP(h) != nil }

// ServeHTTP serves the portal.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// PurgeSessions deletes expired sessions; call it now and then.
func (s *Server) PurgeSessions(ctx context.Context) (int, error) {
	return s.store.PurgePortalSessions(ctx, s.d.Now())
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static := http.FileServerFS(filesOnly{staticFS})
	mux.Handle("GET /static/", static)
	mux.HandleFunc("GET /{$}", s.signedIn(s.home))
	mux.HandleFunc("GET /signin", s.signinForm)
	mux.HandleFunc("POST /signin", s.signin)
	mux.HandleFunc("POST /signout", s.signedIn(s.signout))
	mux.HandleFunc("POST /signin/passkey/begin", s.passkeyLoginBegin)
	mux.HandleFunc("POST /signin/passkey/finish", s.passkeyLoginFinish)

	mux.HandleFunc("GET /aup", s.signedIn(s.aupPage))
	mux.HandleFunc("POST /aup", s.signedIn(s.aupSign))
	mux.HandleFunc("GET /wifi", s.signedIn(s.wifiPage))
	mux.HandleFunc("POST /wifi/renew", s.signedIn(s.wifiRenew))
	mux.HandleFunc("GET /activity", s.signedIn(s.activityPage))
	// A guest's portal password comes on the printed slip and ends with
	// the visit: guests change no password and keep no passkeys.
	mux.HandleFunc("GET /password", s.notGuest(s.passwordPage))
	mux.HandleFunc("POST /password", s.notGuest(s.passwordChange))
	mux.HandleFunc("POST /password/suggest", s.notGuest(s.passwordSuggest))
	mux.HandleFunc("GET /passkeys", s.notGuest(s.passkeysPage))
	mux.HandleFunc("POST /passkeys/register/begin", s.notGuest(s.passkeyRegisterBegin))
	mux.HandleFunc("POST /passkeys/register/finish", s.notGuest(s.passkeyRegisterFinish))
	mux.HandleFunc("POST /passkeys/{id}/rename", s.notGuest(s.passkeyRename))
	mux.HandleFunc("POST /passkeys/{id}/remove", s.notGuest(s.passkeyRemove))

	mux.HandleFunc("GET /staff/people", s.staff(s.peopleSearch, RoleTechnician, RoleSafeguarding, RoleDataProtection))
	mux.HandleFunc("GET /staff/people/{username}", s.staff(s.personPage, RoleTechnician, RoleSafeguarding, RoleDataProtection))
	mux.HandleFunc("POST /staff/people/{username}/hold", s.staff(s.setHold, RoleSafeguarding, RoleDataProtection))
	mux.HandleFunc("POST /staff/people/{username}/hold/lift", s.staff(s.liftHold, RoleSafeguarding, RoleDataProtection))
	mux.HandleFunc("POST /staff/people/{username}/suspend", s.staff(s.suspend, RoleSafeguarding))
	mux.HandleFunc("POST /staff/people/{username}/lift", s.staff(s.lift, RoleSafeguarding))
	mux.HandleFunc("POST /staff/people/{username}/paper-aup", s.staff(s.paperAUP, RoleTechnician))
	mux.HandleFunc("POST /staff/people/{username}/consent", s.staff(s.recordConsent, RoleTechnician))
	mux.HandleFunc("POST /staff/people/{username}/passkey-enrolment", s.staff(s.issueEnrolment, RoleTechnician))
	if s.cfg.TeachersSeeClasses {
		mux.HandleFunc("GET /classes", s.staffAccount(s.classesPage))
		mux.HandleFunc("GET /classes/{group}", s.staffAccount(s.classPage))
	}
	mux.HandleFunc("GET /staff/review", s.staff(s.reviewPage, RoleTechnician, RoleAuditor))
	mux.HandleFunc("POST /staff/review", s.staff(s.reviewRecord, RoleTechnician))
	mux.HandleFunc("POST /staff/review/export", s.staff(s.reviewExport, RoleTechnician, RoleAuditor))
	mux.HandleFunc("GET /staff/filtering", s.staffAccount(s.filteringPage))
	mux.HandleFunc("POST /staff/filtering/propose", s.staff(s.filteringPropose, RoleTechnician))
	mux.HandleFunc("POST /staff/filtering/{id}/decide", s.staffAccount(s.filteringDecide))
	mux.HandleFunc("GET /staff/approvals", s.staffAccount(s.approvalsFind))
	mux.HandleFunc("GET /staff/approvals/{username}", s.staffAccount(s.approvalsPage))
	mux.HandleFunc("POST /staff/approvals/{username}", s.staffAccount(s.approvalsAdd))
	mux.HandleFunc("POST /staff/approvals/{username}/{id}/revoke", s.staffAccount(s.approvalsRevoke))
	mux.HandleFunc("GET /staff/guests", s.staff(s.guestForm, RoleTechnician))
	mux.HandleFunc("POST /staff/guests", s.staff(s.guestIssue, RoleTechnician))
	if s.svc.Lifecycle != nil {
		mux.HandleFunc("GET /staff/sync", s.staff(s.syncPage, RoleTechnician))
		mux.HandleFunc("POST /staff/sync/plan", s.staff(s.syncPlan, RoleTechnician))
		mux.HandleFunc("POST /staff/sync/apply", s.staff(s.syncApply, RoleTechnician))
	}
	if s.svc.Exports != nil {
		mux.HandleFunc("GET /audit", s.staff(s.auditPage, RoleAuditor))
		mux.HandleFunc("POST /audit/register", s.staff(s.registerDownload, RoleAuditor))
		mux.HandleFunc("POST /audit/events", s.staff(s.eventsDownload, RoleAuditor))
	}
	s.firstPasswordRoutes(mux)
	mux.HandleFunc("/", s.notFound)

	// Every state change is a POST, and every POST must come from the
	// portal's own pages: Go's cross-origin protection refuses a request
	// whose Sec-Fetch-Site or Origin says another site sent it.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		http.Error(w, "This request came from another site and was refused.", http.StatusForbidden)
	}))
	return s.headers(cop.Handler(mux))
}

// headers sets the security headers on every response and bounds each
// request's time.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// No inline script or style anywhere: scripts and styles are files
		// the portal serves itself.
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if s.origin.Scheme == "https" {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			// Pages hold personal data and secrets: never cache them.
			h.Set("Cache-Control", "no-store")
		}
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// notGuest serves a signed-in person who is not a guest; a guest is told
// why the page is not for them.
// staffAccount lets only staff accounts through (a teacher needs no staff
// role in the portal).
func (s *Server) staffAccount(h handler) http.HandlerFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, rq *request) {
		if rq.acct.Role != directory.RoleStaff {
			s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Not available", map[string]any{"Passkey": false})
			return
		}
		h(w, r, rq)
	})
}

func (s *Server) notGuest(h handler) http.HandlerFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, rq *request) {
		if rq.acct.Role == directory.RoleGuest {
			s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Not available", map[string]any{"Guest": true})
			return
		}
		h(w, r, rq)
	})
}

// confirm asks before a change that cannot be taken back, on a page of its
// own: the form posts again with confirm=yes. It works without script, as
// every page must. It reports whether the request was already confirmed.
func (s *Server) confirm(w http.ResponseWriter, r *http.Request, rq *request, title, yes, no, back string, lines ...string) bool {
	if r.PostFormValue("confirm") == "yes" {
		return true
	}
	s.render(w, r, http.StatusOK, "confirm.html", rq, title, map[string]any{
		"Lines": lines, "Action": r.URL.Path, "Yes": yes, "No": no, "Back": back, "Danger": true})
	return false
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	rq, _ := s.current(w, r)
	s.render(w, r, http.StatusNotFound, "notfound.html", rq, "Page not found", nil)
}

// fail answers an unexpected error: logged for the operator, a plain page
// for the person.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("portal request timed out", "path", r.URL.Path)
	} else {
		s.log.Error("portal request failed", "path", r.URL.Path, "err", err)
	}
	s.render(w, r, http.StatusInternalServerError, "error.html", rq, "Something went wrong", nil)
}

// filesOnly serves files and nothing else: a directory does not exist, so
// /static/ answers 404 rather than a listing of what the portal holds.
type filesOnly struct{ fsys fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := file.Stat()
	if err != nil || st.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
