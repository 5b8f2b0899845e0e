package portal

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/slips"
)

// FirstPasswordSettings configure first passwords in the portal.
type FirstPasswordSettings struct {
	// Expiry is how long an unused first password lasts (0: the
	// directory's default).
	Expiry time.Duration
	// TeachersIssue lets a member of staff issue and reset first
	// passwords for the pupils of their own registration and class groups.
	// Technicians may for anyone.
	TeachersIssue bool
	// WiFi is what a slip says about the Wi-Fi (empty: the network name).
	WiFi string
	// Forgotten is the sign-in page's "forgotten your password?" line.
	Forgotten string
}

func (s *Server) firstPasswordRoutes(mux *http.ServeMux) {
	s.brandingRoutes(mux)
	mux.HandleFunc("GET /slips.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write([]byte(slips.CSS))
	})
	mux.HandleFunc("GET /staff/first-passwords", s.notGuest(s.firstPasswordsPage))
	mux.HandleFunc("POST /staff/first-passwords", s.notGuest(s.firstPasswordsIssue))
}

// issuer is what a person may issue first passwords for: anyone (a
// technician) or the pupils of their own groups (a teacher).
type issuer struct {
	anyone bool
	groups []directory.Group // a teacher's registration and class groups
	// passkeyNeeded: a technician whose powers need a passkey sign-in
	// they have not made.
	passkeyNeeded bool
	// scope is the issuer's school (see request.scope).
	scope directory.SchoolScope
}

func (s *Server) issuerOf(ctx context.Context, rq *request) (issuer, error) {
	is := issuer{scope: rq.scope()}
	if rq.has(RoleTechnician) {
		if slices.Contains(s.cfg.PasskeyRoles, RoleTechnician) && !rq.sess.Passkey {
			is.passkeyNeeded = true
		} else {
			is.anyone = true
		}
	}
	if s.cfg.FirstPasswords.TeachersIssue && rq.acct.Role == directory.RoleStaff {
		gs, err := s.store.GroupsOf(ctx, rq.acct.ID)
		if err != nil {
			return is, err
		}
		for _, g := range gs {
			if g.Kind == directory.GroupReg || g.Kind == directory.GroupClass {
				is.groups = append(is.groups, g)
			}
		}
	}
	return is, nil
}

func (is issuer) may() bool { return is.anyone || len(is.groups) > 0 }

func (is issuer) ownGroup(name string) (directory.Group, bool) {
	for _, g := range is.groups {
		if g.Name == name {
			return g, true
		}
	}
	return directory.Group{}, false
}

// mayFor reports whether is may give a a first password: a teacher only
// for a pupil in one of their groups.
func (s *Server) mayFor(ctx context.Context, is issuer, a directory.Account) (bool, error) {
	if !is.scope.Covers(a) {
		return false, nil // another school's person (docs/trusts.md)
	}
	if is.anyone {
		return true, nil
	}
	if a.Role != directory.RolePupil {
		return false, nil
	}
	gs, err := s.store.GroupsOf(ctx, a.ID)
	if err != nil {
		return false, err
	}
	for _, g := range gs {
		if _, ok := is.ownGroup(g.Name); ok {
			return true, nil
		}
	}
	return false, nil
}

func (s *Server) refuseIssuer(w http.ResponseWriter, r *http.Request, rq *request, is issuer) {
	if is.passkeyNeeded {
		s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Sign in with a passkey", map[string]any{"Passkey": true})
		return
	}
	s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Not available", map[string]any{"Passkey": false})
}

func (s *Server) firstPasswordsPage(w http.ResponseWriter, r *http.Request, rq *request) {
	is, err := s.issuerOf(r.Context(), rq)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if !is.may() {
		s.refuseIssuer(w, r, rq, is)
		return
	}
	s.render(w, r, http.StatusOK, "firstpasswords.html", rq, "First passwords", map[string]any{
		"Anyone": is.anyone, "Groups": is.groups, "Days": int(s.firstExpiry() / (24 * time.Hour))})
}

func (s *Server) firstExpiry() time.Duration {
	if s.cfg.FirstPasswords.Expiry > 0 {
		return s.cfg.FirstPasswords.Expiry
	}
	return directory.DefaultFirstPasswordDays * 24 * time.Hour
}

// firstPasswordsIssue gives first passwords to one person (user=NAME, a
// reset when they have a password) or a group (group=NAME; only those
// without a password unless all=yes), and answers with the printable
// slips. The passwords are in that response only: it is not cached, and
// they are kept nowhere.
func (s *Server) firstPasswordsIssue(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	is, err := s.issuerOf(ctx, rq)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if !is.may() {
		s.refuseIssuer(w, r, rq, is)
		return
	}
	user := strings.ToLower(strings.TrimSpace(r.PostFormValue("user")))
	group := strings.TrimSpace(r.PostFormValue("group"))
	var people []directory.Account
	var refusedNames []string
	reset := false
	switch {
	case user != "":
		a, err := s.store.AccountByUsername(ctx, user)
		if errors.Is(err, directory.ErrNotFound) {
			s.render(w, r, http.StatusNotFound, "notfound.html", rq, "Page not found", nil)
			return
		}
		if err != nil {
			s.fail(w, r, rq, err)
			return
		}
		ok, err := s.mayFor(ctx, is, a)
		if err != nil {
			s.fail(w, r, rq, err)
			return
		}
		if !ok {
			s.refuseIssuer(w, r, rq, is)
			return
		}
		if reset, err = s.d.HasPassword(ctx, a); err != nil {
			s.fail(w, r, rq, err)
			return
		}
		if reset && !s.confirmWith(w, r, rq, map[string]string{"user": a.Username}, "Give "+a.Name()+" a new first password?", "Yes, give a new first password",
			"No, keep their password", "Their present password stops working at once, in the portal, on school computers and in apps.",
			"They choose a new one of their own when they first sign in with the new first password.") {
			return
		}
		people = []directory.Account{a}
	case group != "":
		g, own := is.ownGroup(group)
		if !own {
			if !is.anyone {
				s.refuseIssuer(w, r, rq, is)
				return
			}
			if g, err = s.store.GroupByName(ctx, group); errors.Is(err, directory.ErrNotFound) {
				s.render(w, r, http.StatusNotFound, "notfound.html", rq, "Page not found", nil)
				return
			} else if err != nil {
				s.fail(w, r, rq, err)
				return
			}
		}
		all := r.PostFormValue("all") == "yes"
		if all && !s.confirmWith(w, r, rq, map[string]string{"group": g.Name, "all": "yes"}, "New first passwords for everyone in "+g.Name+"?",
			"Yes, new first passwords for everyone", "No", "Everyone's present password in "+g.Name+" stops working at once.") {
			return
		}
		reset = all
		names, err := s.store.Members(ctx, g.ID)
		if err != nil {
			s.fail(w, r, rq, err)
			return
		}
		for _, n := range names {
			a, err := s.store.AccountByUsername(ctx, n)
			if err != nil {
				s.fail(w, r, rq, err)
				return
			}
			if ok, err := s.mayFor(ctx, is, a); err != nil {
				s.fail(w, r, rq, err)
				return
			} else if !ok {
				// A teacher's class holds the teacher: staff are not
				// theirs to reset.
				refusedNames = append(refusedNames, a.Name()+" ("+a.Username+"): not a pupil of your groups")
				continue
			}
			if !all {
				has, err := s.d.HasPassword(ctx, a)
				if err != nil {
					s.fail(w, r, rq, err)
					return
				}
				if has {
					continue
				}
			}
			people = append(people, a)
		}
	default:
		http.Redirect(w, r, "/staff/first-passwords", http.StatusSeeOther)
		return
	}
	issued, skipped, err := s.d.IssueFirstPasswords(ctx, "user:"+rq.acct.Username, people, s.firstExpiry(), reset)
	if err != nil && len(issued) == 0 {
		s.fail(w, r, rq, err)
		return
	}
	if err != nil {
		s.log.Error("first passwords: stopped part way", "err", err)
	}
	sheet := slips.Sheet{School: s.schoolName(rq), PortalURL: s.cfg.PublicURL, WiFi: s.slipWiFi(), Location: s.loc, Stylesheet: "/slips.css",
		Branding: s.cfg.Branding}
	for _, fp := range issued {
		grp := fp.Account.RegGroup
		if grp == "" {
			grp = string(fp.Account.Role)
		}
		sheet.Slips = append(sheet.Slips, slips.Slip{Name: fp.Account.Name(), Username: fp.Account.Username, Group: grp,
			Password: fp.Password, ExpiresAt: fp.ExpiresAt, School: fp.Account.School, SchoolName: s.cfg.SchoolNames[fp.Account.School]})
	}
	for _, sk := range skipped {
		sheet.Skipped = append(sheet.Skipped, sk.Account.Name()+" ("+sk.Account.Username+"): "+sk.Reason)
	}
	sheet.Skipped = append(sheet.Skipped, refusedNames...)
	if err != nil {
		sheet.Skipped = append(sheet.Skipped, "The rest could not be done just now: try again in a few minutes.")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := slips.WriteHTML(w, sheet); err != nil {
		s.log.Error("first password slips", "err", err)
	}
}

// confirmWith is confirm for a form whose fields must come back with the
// answer.
func (s *Server) confirmWith(w http.ResponseWriter, r *http.Request, rq *request, hidden map[string]string, title, yes, no string, lines ...string) bool {
	if r.PostFormValue("confirm") == "yes" {
		return true
	}
	s.render(w, r, http.StatusOK, "confirm.html", rq, title, map[string]any{
		"Lines": lines, "Action": r.URL.Path, "Yes": yes, "No": no, "Back": "/staff/first-passwords", "Danger": true, "Hidden": hidden})
	return false
}

func (s *Server) slipWiFi() string {
	if s.cfg.FirstPasswords.WiFi != "" {
		return s.cfg.FirstPasswords.WiFi
	}
	if s.cfg.WiFi.SSID == "" {
		return ""
	}
	return "join the network " + s.cfg.WiFi.SSID + " with your username and the Wi-Fi password you get in the portal (Wi-Fi page) after you sign in."
}

// mustChangeAllows is what a person with a first password may reach before
// changing it: the password page and signing out.
func mustChangeAllows(path string) bool {
	return path == "/password" || path == "/password/suggest" || path == "/signout"
}

// passkeyReset reports whether rq may set a new password without the old
// one: staff signed in with a passkey in this session.
func (s *Server) passkeyReset(rq *request) bool {
	return rq.acct.Role == directory.RoleStaff && rq.sess.Passkey
}
