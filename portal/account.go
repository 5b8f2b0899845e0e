package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

// aupItem is one document a person must sign, with their signature of it.
type aupItem struct {
	Doc    directory.AUPDocument
	Signed *directory.Signature
}

func (s *Server) aupItems(ctx context.Context, a directory.Account) ([]aupItem, error) {
	docs, err := s.store.AUPDocuments(ctx)
	if err != nil {
		return nil, err
	}
	docs = directory.DocumentsFor(docs, a.School) // the person's school's and the trust's
	sigs, err := s.store.Signatures(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	now := s.d.Now()
	var items []aupItem
	for _, aud := range s.d.Gate().Policy.AudiencesOf(a) {
		doc, ok := directory.CurrentDocument(docs, aud, now)
		if !ok {
			continue
		}
		it := aupItem{Doc: doc}
		for i := range sigs {
			if sigs[i].DocumentID == doc.ID {
				it.Signed = &sigs[i]
				break
			}
		}
		items = append(items, it)
	}
	return items, nil
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	items, err := s.aupItems(ctx, rq.acct)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	unsigned := 0
	for _, it := range items {
		if it.Signed == nil {
			unsigned++
		}
	}
	keys, err := s.store.Credentials(ctx, rq.acct.ID, directory.CredPasskey)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	live := 0
	for _, k := range keys {
		if k.Live(s.d.Now()) {
			live++
		}
	}
	data := map[string]any{"Name": rq.acct.Name(), "Unsigned": unsigned, "Passkeys": live}
	// What the gate says about the network tells the person what is still
	// in their way (consent, a suspension) beyond the AUP.
	dec, err := s.d.Gate().Check(ctx, rq.acct, directory.ServiceWiFi, s.d.Now())
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if !dec.Allow && dec.Reason != directory.ReasonAUPUnsigned {
		data["Gate"] = dec.Message(s.loc)
	}
	data["NeedsConsent"] = dec.Reason == directory.ReasonConsentMissing
	if rq.has(RoleTechnician) {
		if data["Dashboard"], err = s.dashboardFor(ctx, rq); err != nil {
			s.fail(w, r, rq, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "home.html", rq, "Your account", data)
}

func (s *Server) aupPage(w http.ResponseWriter, r *http.Request, rq *request) {
	items, err := s.aupItems(r.Context(), rq.acct)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	// Once every policy is signed, what may still stand in the way is
	// consent: say so here, where the pupil has just signed.
	dec, err := s.d.Gate().Check(r.Context(), rq.acct, directory.ServiceWiFi, s.d.Now())
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "aup.html", rq, "Acceptable use policy", map[string]any{
		"Items": items, "Done": r.URL.Query().Get("signed") == "1", "NeedsConsent": dec.Reason == directory.ReasonConsentMissing})
}

// aupSign records a signature of the version the person read: the form
// carries the document's id and digest, and a newer version published in
// between is refused rather than signed unseen.
func (s *Server) aupSign(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	id, _ := strconv.ParseInt(r.PostFormValue("document"), 10, 64)
	digest := r.PostFormValue("digest")
	items, err := s.aupItems(ctx, rq.acct)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	var item *aupItem
	for i := range items {
		if items[i].Doc.ID == id {
			item = &items[i]
		}
	}
	problem := ""
	var invalid []string
	switch {
	case item == nil || item.Doc.Digest != digest:
		problem = "The policy has changed since you opened this page. Please read the current version below and sign it."
	case r.PostFormValue("agree") != "yes":
		problem = "Tick the box to say you have read the policy and agree to it."
		invalid = []string{"agree"}
	case item.Doc.MonitoringNotice != "" && r.PostFormValue("notice") != "yes":
		problem = "Tick the box to say you have read the monitoring notice: signing the policy includes it."
		invalid = []string{"notice"}
	}
	if problem != "" {
		s.render(w, r, http.StatusUnprocessableEntity, "aup.html", rq, "Acceptable use policy", map[string]any{
			"Items": items, "Error": problem, "Invalid": invalid})
		return
	}
	if item.Signed == nil {
		_, err = s.d.RecordSignature(ctx, audit.UserActor(rq.acct.Username), rq.acct, directory.Signature{DocumentID: item.Doc.ID,
			Digest: item.Doc.Digest, Method: directory.SignPortal, Address: s.clientAddr(r), UserAgent: userAgent(r),
			NoticeAcknowledged: item.Doc.MonitoringNotice != "" && r.PostFormValue("notice") == "yes"})
		if errors.Is(err, directory.ErrDocumentChanged) {
			s.render(w, r, http.StatusUnprocessableEntity, "aup.html", rq, "Acceptable use policy", map[string]any{
				"Items": items, "Error": "The policy has changed since you opened this page. Please read the current version below and sign it."})
			return
		}
		if err != nil {
			s.fail(w, r, rq, err)
			return
		}
	}
	http.Redirect(w, r, "/aup?signed=1", http.StatusSeeOther)
}

func (s *Server) wifiView(ctx context.Context, rq *request, secret string, renewed bool) (map[string]any, error) {
	data := map[string]any{"Settings": s.cfg.WiFi, "Username": rq.acct.Username, "Renewed": renewed}
	if secret == "" {
		var err error
		secret, err = s.d.WiFiSecret(ctx, rq.acct)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return nil, err
		}
	}
	if _, ok := directory.WiFiNTHash(secret); ok {
		// Taken over from Active Directory: there is no password to show.
		secret, data["ImportedNT"] = "", true
	}
	data["Secret"] = secret
	dec, err := s.d.Gate().Check(ctx, rq.acct, directory.ServiceWiFi, s.d.Now())
	if err != nil {
		return nil, err
	}
	if !dec.Allow {
		data["Refused"] = dec.Message(s.loc)
		data["NeedsAUP"] = dec.Reason == directory.ReasonAUPUnsigned
		data["NeedsConsent"] = dec.Reason == directory.ReasonConsentMissing
	}
	return data, nil
}

func (s *Server) wifiPage(w http.ResponseWriter, r *http.Request, rq *request) {
	data, err := s.wifiView(r.Context(), rq, "", false)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "wifi.html", rq, "Wi-Fi", data)
}

// wifiRenew issues a new credential and revokes the old one in the same
// transaction; the new one is shown on the response page, never in a URL.
//
// A person who already has a credential confirms first: the old one stops
// working on every device at once.
func (s *Server) wifiRenew(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	old, err := s.d.WiFiSecret(ctx, rq.acct)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		s.fail(w, r, rq, err)
		return
	}
	if _, imported := directory.WiFiNTHash(old); imported {
		old = "" // nothing of its own to lose: no confirmation
	}
	if old != "" && !s.confirm(w, r, rq, "Get a new Wi-Fi password?", "Yes, get a new Wi-Fi password", "No, keep my Wi-Fi password", "/wifi",
		"Your Wi-Fi password stops working at once on every phone, tablet and laptop that uses it.",
		"You will need to type the new one on each of them.") {
		return
	}
	secret, err := s.d.IssueWiFi(ctx, audit.UserActor(rq.acct.Username), rq.acct)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	data, err := s.wifiView(ctx, rq, secret, true)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "wifi.html", rq, "Wi-Fi", data)
}

func (s *Server) activityPage(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	sessions, err := s.store.Sessions(ctx, rq.acct.ID, s.d.Now().AddDate(0, 0, -30), false)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if len(sessions) > 50 {
		sessions = sessions[:50]
	}
	last, err := s.store.LastUse(ctx, rq.acct.ID)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	uses := []struct {
		Service string
		At      time.Time
	}{
		{"The portal", last[directory.ServicePortal]},
		{"Wi-Fi", last[directory.ServiceWiFi]},
		{"School computers and apps (LDAP)", last[directory.ServiceLDAP]},
	}
	s.render(w, r, http.StatusOK, "activity.html", rq, "Recent activity", map[string]any{"Sessions": sessions, "Uses": uses})
}

// rule is one line of the password checklist. Check names the test the
// browser can run while typing; rules without one (guessability, reuse)
// are judged by the server alone, and say so.
type rule struct {
	Code  string
	Text  string
	Check string
	Arg   int
	Met   bool
	Fail  string // the server's message when the rule is broken
}

func rulesFor(p passwords.Policy) []rule {
	var rs []rule
	if p.MinLength > 0 {
		rs = append(rs, rule{Code: passwords.CodeTooShort, Text: fmt.Sprintf("At least %d characters", p.MinLength), Check: "length", Arg: p.MinLength})
	}
	if p.MinClasses > 0 {
		rs = append(rs, rule{Code: passwords.CodeClasses, Text: fmt.Sprintf("At least %d of: capital letters, small letters, numbers, symbols", p.MinClasses), Check: "classes", Arg: p.MinClasses})
	}
	if p.NoRepeats {
		rs = append(rs, rule{Code: passwords.CodeRepeated, Text: "No character twice in a row (like aa or 11)", Check: "repeats"})
	}
	if p.FragmentLen > 0 {
		rs = append(rs,
			rule{Code: passwords.CodeUsername, Text: "No part of your username", Check: "username", Arg: p.FragmentLen},
			rule{Code: passwords.CodeName, Text: "No part of your name", Check: "name", Arg: p.FragmentLen})
	}
	if p.MinScore > 0 {
		rs = append(rs, rule{Code: passwords.CodeDictionary, Text: "Not easy to guess (checked when you save)"})
	}
	if p.History > 0 {
		rs = append(rs, rule{Code: passwords.CodeReused, Text: fmt.Sprintf("Not one of your last %d passwords (checked when you save)", p.History)})
	}
	return rs
}

func (s *Server) passwordView(ctx context.Context, rq *request, vs []passwords.Violation, checked bool) map[string]any {
	// The person's own policy, an exception approved for them included.
	pol, err := s.d.PolicyFor(ctx, rq.acct)
	if err != nil {
		pol = s.d.Policy(rq.acct)
	}
	rules := rulesFor(pol)
	broken := map[string]string{}
	var other []string
	for _, v := range vs {
		broken[v.Code] = v.Message
	}
	for i := range rules {
		msg, bad := broken[rules[i].Code]
		rules[i].Met = checked && !bad
		rules[i].Fail = msg
		delete(broken, rules[i].Code)
	}
	for _, v := range vs {
		if _, left := broken[v.Code]; left {
			other = append(other, v.Message)
		}
	}
	data := map[string]any{"Rules": rules, "Other": other, "Violations": vs, "Checked": checked,
		"Username": rq.acct.Username, "GivenName": rq.acct.GivenName, "FamilyName": rq.acct.FamilyName,
		"MustChange": rq.acct.MustChangePassword, "NoRepeats": pol.NoRepeats, "ByPasskey": s.passkeyReset(rq)}
	// The advice's example is drawn for this person and passes their own
	// policy: an example that broke a rule would teach the wrong thing.
	if ex, err := passwords.Suggest(pol, personOf(rq.acct)); err == nil {
		data["Example"] = ex
	} else {
		s.log.Warn("no password example for the policy", "policy", pol.Name, "err", err)
	}
	return data
}

func personOf(a directory.Account) passwords.Person {
	return passwords.Person{Username: a.Username, GivenName: a.GivenName, FamilyName: a.FamilyName}
}

// suggestAttempts bounds the draws of a suggestion the directory's full
// check (history included) must accept.
const suggestAttempts = 5

// suggestion draws a password for a from their own policy and checks it as
// a change would be checked, history included. It is shown once and never
// stored.
func (s *Server) suggestion(ctx context.Context, a directory.Account) (string, error) {
	pol, err := s.d.PolicyFor(ctx, a)
	if err != nil {
		return "", err
	}
	for range suggestAttempts {
		sug, err := passwords.Suggest(pol, personOf(a))
		if err != nil {
			return "", err
		}
		vs, err := s.d.CheckPassword(ctx, a, sug)
		if err != nil {
			return "", err
		}
		if len(vs) == 0 {
			return sug, nil
		}
	}
	return "", fmt.Errorf("suggest a password for %s: %w", a.Username, passwords.ErrUnsatisfiable)
}

// passwordSuggest answers the "Suggest a password" button: the page again,
// with a suggestion the person's policy accepts. The page is not cached
// (Cache-Control: no-store) and the suggestion is kept nowhere.
func (s *Server) passwordSuggest(w http.ResponseWriter, r *http.Request, rq *request) {
	data := s.passwordView(r.Context(), rq, nil, false)
	sug, err := s.suggestion(r.Context(), rq.acct)
	if errors.Is(err, passwords.ErrUnsatisfiable) {
		data["Error"] = "The portal could not make a suggestion that meets your rules. Make up your own, following the advice below."
		s.render(w, r, http.StatusOK, "password.html", rq, "Change your password", data)
		return
	}
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	data["Suggested"] = sug
	s.render(w, r, http.StatusOK, "password.html", rq, "Change your password", data)
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request, rq *request) {
	data := s.passwordView(r.Context(), rq, nil, false)
	data["Done"] = r.URL.Query().Get("changed") == "1"
	s.render(w, r, http.StatusOK, "password.html", rq, "Change your password", data)
}

// passwordChange asks for the current password (a session left open on a
// shared computer must not be enough), then for the policy's verdict.
func (s *Server) passwordChange(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	current, next, confirm := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm")
	fail := func(status int, msg string, vs []passwords.Violation, fields ...string) {
		data := s.passwordView(r.Context(), rq, vs, vs != nil)
		data["Error"] = msg
		data["Invalid"] = fields
		s.render(w, r, status, "password.html", rq, "Change your password", data)
	}
	// Staff signed in with a passkey have proved who they are: they may
	// set a new password without the old one (they have forgotten it).
	byPasskey := s.passkeyReset(rq)
	if (current == "" && !byPasskey) || next == "" {
		var empty []string
		if current == "" && !byPasskey {
			empty = append(empty, "current")
		}
		if next == "" {
			empty = append(empty, "new")
		}
		fail(http.StatusUnprocessableEntity, "Enter your current password and a new one.", nil, empty...)
		return
	}
	if next != confirm {
		fail(http.StatusUnprocessableEntity, "The two new passwords are different. Type the same new password in both boxes.", nil, "confirm")
		return
	}
	var err error
	if !byPasskey || current != "" {
		_, err = s.d.Authenticate(ctx, rq.acct.Username, current, directory.ServicePortal, s.signinOrigin(w, r))
	}
	var refused *directory.RefusedError
	switch {
	case errors.Is(err, directory.ErrBadCredentials):
		fail(http.StatusUnprocessableEntity, "Your current password is not right. Nothing was changed.", nil, "current")
		return
	case errors.As(err, &refused):
		fail(http.StatusForbidden, refused.Decision.Message(s.loc), nil)
		return
	case err != nil:
		s.fail(w, r, rq, err)
		return
	}
	vs, err := s.d.ChangePassword(ctx, audit.UserActor(rq.acct.Username), rq.acct, next)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if len(vs) > 0 {
		fail(http.StatusUnprocessableEntity, "Your new password does not meet every rule yet. Nothing was changed.", vs, "new", "confirm")
		return
	}
	// A changed password ends the person's other portal sessions: that is
	// often why it was changed.
	if _, err := s.store.DeletePortalSessionsOf(ctx, rq.acct.ID, rq.sess.ID); err != nil {
		s.log.Warn("ending other portal sessions", "account", rq.acct.Username, "err", err)
	}
	http.Redirect(w, r, "/password?changed=1", http.StatusSeeOther)
}
