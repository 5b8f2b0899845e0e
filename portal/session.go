package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"keystage.dev/keystage/directory"
)

// request is what a handler knows about the person asking.
type request struct {
	sess  directory.PortalSession
	data  sessData
	acct  directory.Account
	roles []StaffRole
}

// sessData is the portal's state kept in a session row.
type sessData struct {
	// WebAuthn is a ceremony in progress: its challenge must come back.
	WebAuthn *webauthn.SessionData `json:"webauthn,omitempty"`
	// Ceremony says which: "register:NAME" (a passkey being added).
	Ceremony string `json:"ceremony,omitempty"`
	// Enrolment is the hash of the enrolment code a passkey being added
	// spends when it is saved.
	Enrolment string `json:"enrolment,omitempty"`
}

func (rq *request) signedIn() bool { return rq != nil && rq.sess.AccountID != 0 }

func (rq *request) has(role StaffRole) bool { return rq != nil && slices.Contains(rq.roles, role) }

// sessionID is what the store keeps for a token: its hash, so that the
// database alone does not open sessions.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func userAgent(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return ua
}

// current loads the session a request carries, if any. A session of an
// account that has since been disabled or purged is ended.
func (s *Server) current(w http.ResponseWriter, r *http.Request) (*request, error) {
	c, err := r.Cookie(s.cookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	ctx := r.Context()
	now := s.d.Now()
	sess, err := s.store.PortalSession(ctx, sessionID(c.Value), now)
	if errors.Is(err, directory.ErrNotFound) {
		s.clearCookie(w)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rq := &request{sess: sess}
	if sess.Data != "" {
		if err := json.Unmarshal([]byte(sess.Data), &rq.data); err != nil {
			s.log.Warn("unreadable portal session data", "err", err)
		}
	}
	if sess.AccountID == 0 {
		return rq, nil
	}
	if s.cfg.IdleTimeout > 0 && now.Sub(sess.SeenAt) >= s.cfg.IdleTimeout {
		// Idle too long: signed out, as if the person had left the
		// computer and someone else sat down.
		if err := s.store.DeletePortalSession(ctx, sess.ID); err != nil {
			return nil, err
		}
		s.clearCookie(w)
		return nil, nil
	}
	a, err := s.store.Account(ctx, sess.AccountID)
	if errors.Is(err, directory.ErrNotFound) || (err == nil && a.Status != directory.StatusActive) {
		s.store.DeletePortalSession(ctx, sess.ID)
		s.clearCookie(w)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if closed, err := s.portalSuspended(ctx, a, now); err != nil {
		return nil, err
	} else if closed {
		// A suspension that names the portal ends the sessions it finds.
		s.store.DeletePortalSession(ctx, sess.ID)
		s.clearCookie(w)
		return nil, nil
	}
	rq.acct = a
	if rq.roles, err = s.rolesOf(ctx, a); err != nil {
		return nil, err
	}
	// Note the session as seen at most once a minute, not on every request.
	if now.Sub(sess.SeenAt) > time.Minute {
		rq.sess.SeenAt = now
		if err := s.store.PutPortalSession(ctx, &rq.sess); err != nil {
			s.log.Warn("noting portal session", "err", err)
		}
	}
	return rq, nil
}

// rolesOf gives the staff roles an account holds through its groups. Only
// staff accounts hold roles, whatever groups a pupil is put in, and only
// groups kept by hand grant them: nothing the MIS sends can make a role.
func (s *Server) rolesOf(ctx context.Context, a directory.Account) ([]StaffRole, error) {
	if a.Role != directory.RoleStaff || len(s.cfg.RoleGroups) == 0 {
		return nil, nil
	}
	groups, err := s.store.GroupsOf(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	var roles []StaffRole
	for _, role := range []StaffRole{RoleTechnician, RoleSafeguarding, RoleAuditor, RoleDataProtection} {
		for _, g := range groups {
			if g.Source == directory.SourceManual && slices.Contains(s.cfg.RoleGroups[role], g.Name) {
				roles = append(roles, role)
				break
			}
		}
	}
	return roles, nil
}

func (s *Server) setCookie(w http.ResponseWriter, token string, expires time.Time) {
	if s.cfg.SharedPC {
		// A session cookie: the browser forgets it when it closes.
		expires = time.Time{}
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// startSession signs a in with a fresh token (never one the browser had
// before, so that a planted cookie cannot be carried into the session),
// ending any session the browser held. passkey is the passkey a signed in
// with, nil for a password; its new state is stored with the sign-in.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, old *request, a directory.Account, passkey *directory.PasskeyUse) error {
	ctx := r.Context()
	if old != nil {
		if err := s.store.DeletePortalSession(ctx, old.sess.ID); err != nil {
			return err
		}
	}
	now := s.d.Now()
	token := newToken()
	sess := directory.PortalSession{ID: sessionID(token), AccountID: a.ID, CreatedAt: now, SeenAt: now,
		ExpiresAt: now.Add(s.lifetime), Passkey: passkey != nil, Address: s.clientAddr(r), UserAgent: userAgent(r)}
	if err := s.store.PutPortalSession(ctx, &sess); err != nil {
		return err
	}
	if err := s.d.RecordPortalSignin(ctx, a, sess, passkey); err != nil {
		return err
	}
	s.setCookie(w, token, sess.ExpiresAt)
	return nil
}

// saveData stores a signed-in session's portal state (a passkey being
// added). Nothing is stored for someone not signed in: a passkey sign-in
// keeps its challenge in a sealed cookie (ceremony.go).
func (s *Server) saveData(r *http.Request, rq *request, data sessData) error {
	rq.data = data
	b, err := json.Marshal(rq.data)
	if err != nil {
		return err
	}
	rq.sess.Data = string(b)
	return s.store.PutPortalSession(r.Context(), &rq.sess)
}

type handler func(w http.ResponseWriter, r *http.Request, rq *request)

// signedIn serves only a signed-in person; anyone else is sent to sign in.
func (s *Server) signedIn(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rq, err := s.current(w, r)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		if !rq.signedIn() {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		if rq.acct.MustChangePassword && !mustChangeAllows(r.URL.Path) {
			// A first password: the new password comes before anything
			// else.
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		}
		h(w, r, rq)
	}
}

// staff serves only holders of one of roles; where configuration asks for
// it, only in a session signed in with a passkey. Every staff page is read
// or acted on under the person's own name in the audit trail.
func (s *Server) staff(h handler, roles ...StaffRole) http.HandlerFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, rq *request) {
		held := false
		needPasskey := false
		for _, role := range roles {
			if rq.has(role) {
				held = true
				needPasskey = needPasskey || slices.Contains(s.cfg.PasskeyRoles, role)
			}
		}
		if !held {
			s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Not available", map[string]any{"Passkey": false})
			return
		}
		if needPasskey && !rq.sess.Passkey {
			s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Sign in with a passkey", map[string]any{"Passkey": true})
			return
		}
		h(w, r, rq)
	})
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	rq, err := s.current(w, r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if rq.signedIn() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "signin.html", nil, "Sign in", map[string]any{})
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	rq, err := s.current(w, r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	began := time.Now()
	outcome, why := directory.ResultInvalid, directory.ReasonNone
	defer func() { s.d.ObserveSince(began, directory.ServicePortal, "signin", outcome, why) }()
	username := strings.ToLower(strings.TrimSpace(r.PostFormValue("username")))
	password := r.PostFormValue("password")
	data := map[string]any{"Username": username}
	if username == "" || password == "" {
		data["Error"] = "Enter your username and your password."
		s.render(w, r, http.StatusUnprocessableEntity, "signin.html", nil, "Sign in", data)
		return
	}
	a, err := s.d.Authenticate(r.Context(), username, password, directory.ServicePortal, s.signinOrigin(w, r))
	var refused *directory.RefusedError
	switch {
	case errors.Is(err, directory.ErrBadCredentials):
		outcome = directory.ResultBadCredentials
		data["Error"] = "That username and password do not match. Check them and try again: after several wrong tries this device is blocked for a while."
		s.render(w, r, http.StatusUnauthorized, "signin.html", nil, "Sign in", data)
		return
	case errors.As(err, &refused):
		outcome, why = directory.ResultRefused, refused.Decision.Reason
		data["Error"] = refused.Decision.Message(s.loc)
		s.render(w, r, http.StatusForbidden, "signin.html", nil, "Sign in", data)
		return
	case errors.Is(err, directory.ErrCannotCount):
		outcome = directory.ResultError
		data["Error"] = "Sign-in cannot be recorded just now, so it is paused: try again in a few minutes."
		s.render(w, r, http.StatusServiceUnavailable, "signin.html", nil, "Sign in", data)
		return
	case err != nil:
		outcome = directory.ResultError
		s.fail(w, r, nil, err)
		return
	}
	if err := s.startSession(w, r, rq, a, nil); err != nil {
		outcome = directory.ResultError
		s.fail(w, r, nil, err)
		return
	}
	outcome = directory.ResultOK
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, rq *request) {
	if err := s.store.DeletePortalSession(r.Context(), rq.sess.ID); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.clearCookie(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// portalSuspended reports whether a suspension in force at now takes the
// portal away from a (the "service:portal" scope).
func (s *Server) portalSuspended(ctx context.Context, a directory.Account, now time.Time) (bool, error) {
	sus, err := s.store.Suspensions(ctx, a.ID)
	if err != nil {
		return false, err
	}
	for _, x := range sus {
		if x.ActiveAt(now) && x.Covers(directory.ServicePortal) {
			return true, nil
		}
	}
	return false, nil
}
