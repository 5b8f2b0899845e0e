package portal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// waUser is an account as WebAuthn sees it. The user handle is the
// account's id: stable, not personal, and never reused for a credential,
// since an account's passkeys go when it is purged.
type waUser struct {
	a     directory.Account
	creds []directory.Credential // live passkeys
	wa    []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return []byte(strconv.FormatInt(u.a.ID, 10)) }
func (u *waUser) WebAuthnName() string                       { return u.a.Username }
func (u *waUser) WebAuthnDisplayName() string                { return u.a.Name() }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.wa }

func (s *Server) waUser(ctx context.Context, a directory.Account) (*waUser, error) {
	all, err := s.store.Credentials(ctx, a.ID, directory.CredPasskey)
	if err != nil {
		return nil, err
	}
	u := &waUser{a: a}
	now := s.d.Now()
	for _, c := range all {
		if !c.Live(now) {
			continue
		}
		var wc webauthn.Credential
		if err := json.Unmarshal([]byte(c.Secret), &wc); err != nil {
			s.log.Warn("unreadable passkey", "account", a.Username, "credential", c.ID, "err", err)
			continue
		}
		u.creds = append(u.creds, c)
		u.wa = append(u.wa, wc)
	}
	return u, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// jsonError answers a script with a message it shows to the person.
func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// cleanName makes a label safe to keep: control characters out, trimmed,
// at most 60 characters (in that order, so that the result is stable).
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	for utf8.RuneCountInString(s) > 60 {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return strings.TrimSpace(s)
}

func (s *Server) passkeysPage(w http.ResponseWriter, r *http.Request, rq *request) {
	u, err := s.waUser(r.Context(), rq.acct)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "passkeys.html", rq, "Passkeys", map[string]any{
		"Keys": u.creds, "Done": r.URL.Query().Get("done"), "Enrol": s.enrolment(rq, len(u.creds)), "Requirement": s.passkeyRequirement(rq)})
}

// enrolment says what adding a passkey needs beyond a recent sign-in: ""
// for most people; for a person holding a role that must use a passkey,
// "passkey" (a session signed in with one they have) when they have one,
// else "code" (a one-time enrolment code that another technician, or the
// server's command line, issued). A stolen password alone then cannot plant
// a passkey on a powerful account.
func (s *Server) enrolment(rq *request, passkeys int) string {
	powerful := false
	for _, role := range rq.roles {
		powerful = powerful || slices.Contains(s.cfg.PasskeyRoles, role)
	}
	switch {
	case !powerful || (passkeys > 0 && rq.sess.Passkey):
		return ""
	case passkeys > 0:
		return "passkey"
	}
	return "code"
}

// recentSignIn bounds how old a session may be to add a passkey: a passkey
// outlives the session, so one left open on a shared computer must not be
// enough to plant one.
const recentSignIn = 15 * time.Minute

func (s *Server) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	if s.d.Now().Sub(rq.sess.CreatedAt) > recentSignIn {
		jsonError(w, http.StatusForbidden, "For your safety, sign out and sign in again to add a passkey: you signed in more than 15 minutes ago.")
		return
	}
	name := cleanName(r.PostFormValue("name"))
	if name == "" {
		jsonError(w, http.StatusUnprocessableEntity, "Give the passkey a name, such as the device it is on.")
		return
	}
	u, err := s.waUser(ctx, rq.acct)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	var codeHash string
	switch s.enrolment(rq, len(u.creds)) {
	case "passkey":
		jsonError(w, http.StatusForbidden, "Your role needs a passkey: sign out, then sign in with a passkey you already have to add another.")
		return
	case "code":
		codeHash = directory.EnrolmentCodeHash(r.PostFormValue("code"))
		ok, err := s.d.HasPasskeyEnrolment(ctx, rq.acct, codeHash)
		if err != nil {
			s.fail(w, r, rq, err)
			return
		}
		if !ok {
			s.log.Info("passkey enrolment code refused", "account", rq.acct.Username, "addr", s.clientAddr(r))
			jsonError(w, http.StatusForbidden, "Your role needs an enrolment code for your first passkey, and that code is wrong, used or out of date. Ask another technician for a new one.")
			return
		}
	}
	// A discoverable credential lets the person sign in without typing a
	// username; existing ones are excluded so a device is not added twice.
	creation, sd, err := s.wa.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(webauthn.Credentials(u.wa).CredentialDescriptors()))
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if err := s.saveData(r, rq, sessData{WebAuthn: sd, Ceremony: "register:" + name, Enrolment: codeHash}); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	writeJSON(w, http.StatusOK, creation)
}

func (s *Server) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	name, ok := strings.CutPrefix(rq.data.Ceremony, "register:")
	if !ok || rq.data.WebAuthn == nil {
		jsonError(w, http.StatusBadRequest, "No passkey set-up is in progress. Start again.")
		return
	}
	sd, codeHash := *rq.data.WebAuthn, rq.data.Enrolment
	// The challenge is single-use whatever happens next.
	if err := s.saveData(r, rq, sessData{}); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	u, err := s.waUser(ctx, rq.acct)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	cred, err := s.wa.FinishRegistration(u, sd, r)
	if err != nil {
		s.log.Info("passkey registration refused", "account", rq.acct.Username, "err", err)
		jsonError(w, http.StatusBadRequest, "The passkey could not be checked. Nothing was saved. Try again.")
		return
	}
	secret, err := json.Marshal(cred)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	_, err = s.d.AddPasskey(ctx, audit.UserActor(rq.acct.Username), rq.acct, name, string(secret), codeHash)
	if errors.Is(err, directory.ErrEnrolmentCode) {
		jsonError(w, http.StatusForbidden, "The enrolment code was used or ran out while the passkey was being made. Nothing was saved. Ask for a new code.")
		return
	}
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "redirect": "/passkeys?done=added"})
}

// ownPasskey finds one of the person's live passkeys by the id in the path.
func (s *Server) ownPasskey(r *http.Request, rq *request) (directory.Credential, bool, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return directory.Credential{}, false, nil
	}
	u, err := s.waUser(r.Context(), rq.acct)
	if err != nil {
		return directory.Credential{}, false, err
	}
	for _, c := range u.creds {
		if c.ID == id {
			return c, true, nil
		}
	}
	return directory.Credential{}, false, nil
}

func (s *Server) passkeyRename(w http.ResponseWriter, r *http.Request, rq *request) {
	c, ok, err := s.ownPasskey(r, rq)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	name := cleanName(r.PostFormValue("name"))
	if !ok || name == "" {
		http.Redirect(w, r, "/passkeys", http.StatusSeeOther)
		return
	}
	err = s.d.RenamePasskey(r.Context(), audit.UserActor(rq.acct.Username), rq.acct, c, name)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	http.Redirect(w, r, "/passkeys?done=renamed", http.StatusSeeOther)
}

// passkeyRemove revokes a passkey (kept, revoked, for the record), once
// the person has confirmed it. A session signed in with that passkey stays
// open until it ends.
func (s *Server) passkeyRemove(w http.ResponseWriter, r *http.Request, rq *request) {
	c, ok, err := s.ownPasskey(r, rq)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if !ok {
		http.Redirect(w, r, "/passkeys", http.StatusSeeOther)
		return
	}
	if !s.confirm(w, r, rq, "Remove the passkey “"+c.Name+"”?", "Yes, remove this passkey", "No, keep it", "/passkeys",
		"Once removed, “"+c.Name+"” can no longer sign you in, even if your device still offers it.",
		"To use that device again, you would add a new passkey.") {
		return
	}
	err = s.d.RemovePasskey(r.Context(), audit.UserActor(rq.acct.Username), rq.acct, c)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	http.Redirect(w, r, "/passkeys?done=removed", http.StatusSeeOther)
}

func (s *Server) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	id, known := s.device(w, r)
	if !s.allowUnauthenticated(r, id, known) {
		tooMany(w)
		return
	}
	// A device blocked by failures here is refused passkeys too.
	if att, err := s.d.Lockout().Begin(r.Context(), directory.Account{}, "", s.originOf(r, id, known), s.d.Now()); err != nil {
		s.fail(w, r, nil, err)
		return
	} else if att.Locked() {
		jsonError(w, http.StatusForbidden, att.Lock.Decision().Message(s.loc))
		return
	}
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if err := s.beginCeremony(w, sd); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, assertion)
}

var errUnknownPasskey = errors.New("unknown passkey")

func (s *Server) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	began := time.Now()
	outcome, why := directory.ResultInvalid, directory.ReasonNone
	defer func() { s.d.ObserveSince(began, directory.ServicePortal, "passkey_signin", outcome, why) }()
	rq, err := s.current(w, r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	sd, err := s.finishCeremony(w, r)
	if err != nil {
		jsonError(w, http.StatusBadRequest, "No passkey sign-in is in progress. Reload the page and try again.")
		return
	}
	// A device blocked by failures here is refused passkeys too. A
	// passkey cannot be guessed, so the account's own counters do not
	// hold it back.
	addr, origin := s.clientAddr(r), s.signinOrigin(w, r)
	att, err := s.d.Lockout().Begin(ctx, directory.Account{}, "", origin, s.d.Now())
	if err != nil {
		s.fail(w, r, nil, err)
		return
	} else if att.Locked() {
		outcome, why = directory.ResultRefused, att.Lock.Decision().Reason
		jsonError(w, http.StatusForbidden, att.Lock.Decision().Message(s.loc))
		return
	}
	var found *waUser
	user, cred, err := s.wa.FinishPasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		id, err := strconv.ParseInt(string(userHandle), 10, 64)
		if err != nil {
			return nil, errUnknownPasskey
		}
		a, err := s.store.Account(ctx, id)
		if err != nil {
			return nil, errUnknownPasskey
		}
		found, err = s.waUser(ctx, a)
		return found, err
	}, sd, r)
	if err != nil || found == nil || user == nil {
		s.log.Info("passkey sign-in refused", "err", err, "addr", addr)
		if err := att.Fail(ctx, ""); err != nil {
			s.log.Error("passkey sign-in: counting a failure", "err", err)
		}
		outcome = directory.ResultBadCredentials
		jsonError(w, http.StatusUnauthorized, "That passkey was not accepted. Use your username and password, or another passkey.")
		return
	}
	if cred.Authenticator.CloneWarning {
		s.log.Warn("passkey signature counter went back: possible cloned authenticator", "account", found.a.Username)
		outcome = directory.ResultBadCredentials
		jsonError(w, http.StatusUnauthorized, "That passkey was not accepted. Tell the IT office.")
		return
	}
	a := found.a
	now := s.d.Now()
	dec, err := s.d.Gate().Check(ctx, a, directory.ServicePortal, now)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if !dec.Allow {
		outcome, why = directory.ResultRefused, dec.Reason
		jsonError(w, http.StatusForbidden, dec.Message(s.loc))
		return
	}
	// Keep the signature counter so that a cloned authenticator shows.
	var credID int64
	for i, c := range found.wa {
		if string(c.ID) == string(cred.ID) {
			credID = found.creds[i].ID
		}
	}
	secret, err := json.Marshal(cred)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if err := s.startSession(w, r, rq, a, &directory.PasskeyUse{CredentialID: credID, Secret: string(secret), At: now}); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if err := s.store.NoteUse(ctx, a.ID, directory.ServicePortal, now); err != nil {
		s.log.Warn("noting use", "account", a.Username, "err", err)
	}
	if att, err := s.d.Lockout().Begin(ctx, a, "", origin, now); err == nil {
		if err := att.Succeed(ctx); err != nil {
			s.log.Warn("passkey sign-in: noting a familiar device", "account", a.Username, "err", err)
		}
	}
	outcome = directory.ResultOK
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "redirect": "/"})
}
