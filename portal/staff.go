package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// record runs fn and its audit event in one transaction, as the signed-in
// staff member.
func (s *Server) record(ctx context.Context, rq *request, action, target string, before, after any, fn func(ctx context.Context, tx directory.Tx) error) error {
	return s.d.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if fn != nil {
			if err := fn(ctx, tx); err != nil {
				return err
			}
		}
		return s.d.Record(ctx, tx, "user:"+rq.acct.Username, action, target, before, after)
	})
}

func (s *Server) peopleSearch(w http.ResponseWriter, r *http.Request, rq *request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	data := map[string]any{"Q": q}
	if q != "" {
		found, err := s.d.Store.ListAccounts(r.Context(), directory.AccountQuery{Search: q, Limit: 50})
		if err != nil {
			s.fail(w, r, rq, err)
			return
		}
		data["Found"] = found
		data["Searched"] = true
	}
	s.render(w, r, http.StatusOK, "people.html", rq, "Find a person", data)
}

// sigView is a signature with the document it signs.
type sigView struct {
	directory.Signature
	Doc directory.AUPDocument
}

func (s *Server) personData(ctx context.Context, rq *request, a directory.Account) (map[string]any, error) {
	st := s.d.Store
	groups, err := st.GroupsOf(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	docs, err := st.AUPDocuments(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]directory.AUPDocument{}
	for _, d := range docs {
		byID[d.ID] = d
	}
	sigs, err := st.Signatures(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	var sv []sigView
	for _, sg := range sigs {
		sv = append(sv, sigView{sg, byID[sg.DocumentID]})
	}
	consents, err := st.Consents(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	var creds []directory.Credential
	for _, k := range []directory.CredentialKind{directory.CredPassword, directory.CredWiFi, directory.CredPasskey} {
		cs, err := st.Credentials(ctx, a.ID, k)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			c.Secret = "" // never leaves this function
			creds = append(creds, c)
		}
	}
	susp, err := st.Suspensions(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	now := s.d.Now()
	last, err := st.LastUse(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	sessions, err := st.Sessions(ctx, a.ID, now.AddDate(0, 0, -14), false)
	if err != nil {
		return nil, err
	}
	if len(sessions) > 20 {
		sessions = sessions[:20]
	}
	var sigDocs []directory.AUPDocument
	for _, aud := range s.audiences(a) {
		if d, ok := currentDoc(docs, aud, now); ok {
			sigDocs = append(sigDocs, d)
		}
	}
	wifi, err := s.d.Gate.Check(ctx, a, directory.ServiceWiFi, now)
	if err != nil {
		return nil, err
	}
	type activeSusp struct {
		directory.Suspension
		Active bool
	}
	var sus []activeSusp
	for _, x := range susp {
		sus = append(sus, activeSusp{x, x.ActiveAt(now)})
	}
	return map[string]any{
		"Account": a, "Groups": groups, "Signatures": sv, "Consents": consents, "Credentials": creds,
		"Suspensions": sus, "LastPortal": last[directory.ServicePortal], "LastWiFi": last[directory.ServiceWiFi],
		"LastLDAP": last[directory.ServiceLDAP], "Sessions": sessions, "SignDocs": sigDocs,
		"Gate": wifi, "GateMessage": wifi.Message(s.loc),
		"CanSuspend": rq.has(RoleSafeguarding), "CanRecord": rq.has(RoleTechnician),
		"Today": now.In(s.loc).Format(directory.DateLayout), "Done": "",
	}, nil
}

// person loads the account named in the path, answering 404 itself.
func (s *Server) person(w http.ResponseWriter, r *http.Request, rq *request) (directory.Account, bool) {
	a, err := s.d.Store.AccountByUsername(r.Context(), r.PathValue("username"))
	if errors.Is(err, directory.ErrNotFound) {
		s.render(w, r, http.StatusNotFound, "notfound.html", rq, "No such person", nil)
		return a, false
	}
	if err != nil {
		s.fail(w, r, rq, err)
		return a, false
	}
	return a, true
}

// personPage shows everything held about a person. Looking is itself
// recorded: staff reading a pupil's record is something a DPO asks about.
func (s *Server) personPage(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	s.showPerson(w, r, rq, a, http.StatusOK, "", r.URL.Query().Get("done"))
}

func (s *Server) showPerson(w http.ResponseWriter, r *http.Request, rq *request, a directory.Account, status int, problem, done string) {
	ctx := r.Context()
	if err := s.record(ctx, rq, "portal.view", "account:"+a.Username, nil, nil, nil); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	data, err := s.personData(ctx, rq, a)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	data["Error"] = problem
	data["Done"] = done
	s.render(w, r, status, "person.html", rq, a.Name()+" ("+a.Username+")", data)
}

func (s *Server) done(w http.ResponseWriter, r *http.Request, a directory.Account, what string) {
	http.Redirect(w, r, "/staff/people/"+url.PathEscape(a.Username)+"?done="+what, http.StatusSeeOther)
}

// parseWhen reads a date or date-time typed into a form, in the school's
// time zone.
func (s *Server) parseWhen(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, s.loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad date")
}

func (s *Server) suspend(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	ref := strings.TrimSpace(r.PostFormValue("incident"))
	until, err := s.parseWhen(r.PostFormValue("until"))
	now := s.d.Now()
	switch {
	case reason == "":
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "Give a reason for the suspension: it is shown to auditors, not to the pupil.", "")
		return
	case err != nil:
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "The end date is not a date: use the date picker or type YYYY-MM-DD.", "")
		return
	case !until.IsZero() && !until.After(now):
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "The end of the suspension must be in the future.", "")
		return
	}
	sp := directory.Suspension{AccountID: a.ID, From: now, Until: until, Reason: reason, IncidentRef: ref,
		CreatedBy: "user:" + rq.acct.Username, CreatedAt: now}
	err = s.record(r.Context(), rq, "suspension.add", "account:"+a.Username, nil,
		// The id is read when the event is recorded, after the insert: the
		// register rebuilt from the trail matches the lift to it.
		map[string]any{"suspension_id": &sp.ID, "from": now, "until": until, "reason": reason, "incident_ref": ref},
		func(ctx context.Context, tx directory.Tx) error { return tx.AddSuspension(ctx, &sp) })
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	// Live Wi-Fi sessions and caches end now, not at the next sign-in.
	s.d.EndAccess(r.Context(), a)
	s.done(w, r, a, "suspended")
}

func (s *Server) lift(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	ctx := r.Context()
	susp, err := s.d.Store.Suspensions(ctx, a.ID)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	now := s.d.Now()
	id := r.PostFormValue("suspension")
	idx := slices.IndexFunc(susp, func(x directory.Suspension) bool {
		return x.ActiveAt(now) && id == formatID(x.ID)
	})
	if idx < 0 {
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "That suspension is not in force any more.", "")
		return
	}
	x := susp[idx]
	err = s.record(ctx, rq, "suspension.lift", "account:"+a.Username,
		map[string]any{"suspension_id": x.ID, "reason": x.Reason}, map[string]any{"suspension_id": x.ID, "lifted_at": now},
		func(ctx context.Context, tx directory.Tx) error {
			_, err := tx.UpdateSuspension(ctx, x.ID, func(y *directory.Suspension) error {
				y.LiftedAt, y.LiftedBy = now, "user:"+rq.acct.Username
				return nil
			})
			return err
		})
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.done(w, r, a, "lifted")
}

// paperAUP records a signature given on paper, with the form's date and
// its witness.
func (s *Server) paperAUP(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	ctx := r.Context()
	docs, err := s.d.Store.AUPDocuments(ctx)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	now := s.d.Now()
	id := r.PostFormValue("document")
	var doc *directory.AUPDocument
	for _, aud := range s.audiences(a) {
		if d, ok := currentDoc(docs, aud, now); ok && formatID(d.ID) == id {
			doc = &d
		}
	}
	formDate, derr := s.parseWhen(r.PostFormValue("form_date"))
	witness := strings.TrimSpace(r.PostFormValue("witness"))
	switch {
	case doc == nil:
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "Choose the policy the paper form is for.", "")
		return
	case derr != nil || formDate.IsZero() || formDate.After(now):
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "Give the date written on the form (not in the future).", "")
		return
	case witness == "":
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "Give the name of the witness on the form.", "")
		return
	}
	sig := directory.Signature{AccountID: a.ID, DocumentID: doc.ID, Digest: doc.Digest, SignedAt: now, Method: directory.SignPaper,
		FormDate: formDate, Witness: witness, RecordedBy: "user:" + rq.acct.Username}
	err = s.record(ctx, rq, "aup.sign", "account:"+a.Username, nil,
		map[string]any{"document_id": doc.ID, "audience": doc.Audience, "version": doc.Version, "digest": doc.Digest,
			"method": sig.Method, "form_date": directory.FormatDate(formDate), "witness": witness},
		func(ctx context.Context, tx directory.Tx) error { return tx.AddSignature(ctx, &sig) })
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.done(w, r, a, "paper-aup")
}

// recordConsent records a parent's or carer's permission given on paper,
// against the current permission form when one is published.
func (s *Server) recordConsent(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	ctx := r.Context()
	parent := strings.TrimSpace(r.PostFormValue("parent"))
	rel := strings.TrimSpace(r.PostFormValue("relationship"))
	given, derr := s.parseWhen(r.PostFormValue("given"))
	now := s.d.Now()
	switch {
	case a.Role != directory.RolePupil:
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "Parental consent is only for pupils.", "")
		return
	case parent == "" || rel == "":
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "Give the name of the parent or carer and how they are related.", "")
		return
	case derr != nil || given.IsZero() || given.After(now):
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "Give the date on the consent form (not in the future).", "")
		return
	}
	docs, err := s.d.Store.AUPDocuments(ctx)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	aud := s.d.Gate.Policy.ConsentAudience
	if aud == "" {
		aud = "parent-permission"
	}
	c := directory.Consent{AccountID: a.ID, ParentName: parent, Relationship: rel, GivenAt: given,
		Method: directory.SignPaper, RecordedBy: "user:" + rq.acct.Username}
	if d, ok := currentDoc(docs, aud, now); ok {
		c.DocumentID = d.ID
	}
	err = s.record(ctx, rq, "consent.add", "account:"+a.Username, nil,
		map[string]any{"document_id": c.DocumentID, "parent_name": parent, "relationship": rel,
			"given_at": given, "method": c.Method},
		func(ctx context.Context, tx directory.Tx) error { return tx.AddConsent(ctx, &c) })
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.done(w, r, a, "consent")
}
