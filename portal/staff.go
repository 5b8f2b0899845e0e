package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// record records what the signed-in staff member saw or took away.
func (s *Server) record(ctx context.Context, rq *request, action audit.Action, target string, before, after any) error {
	return s.d.RecordEvent(ctx, audit.UserActor(rq.acct.Username), action, target, before, after)
}

// suspensionScopes are the scopes the suspend form offers.
var suspensionScopes = []directory.SuspensionScope{directory.SuspendAll, directory.SuspendInternet,
	directory.SuspendService(directory.ServiceLDAP), directory.SuspendService(directory.ServiceWiFi), directory.SuspendService(directory.ServicePortal)}

// peoplePage is how many people one page of a search shows.
const peoplePage = 50

// peopleStatuses are the status filter's choices.
var peopleStatuses = []directory.Status{directory.StatusActive, directory.StatusDisabled}

// peopleSearch finds people by name, username or MIS id, filtered by year,
// registration group and status, ordered by name, a page at a time. It
// says how many matched, so a list that does not fit on a page never
// looks complete.
func (s *Server) peopleSearch(w http.ResponseWriter, r *http.Request, rq *request) {
	v := r.URL.Query()
	q := strings.TrimSpace(v.Get("q"))
	year := strings.TrimSpace(v.Get("year"))
	reg := strings.TrimSpace(v.Get("reg"))
	status := directory.Status(v.Get("status"))
	if !slices.Contains(peopleStatuses, status) {
		status = ""
	}
	pageNo, _ := strconv.Atoi(v.Get("page"))
	pageNo = max(pageNo, 1)
	data := map[string]any{"Q": q, "Year": year, "Reg": reg, "Status": string(status),
		"Years":    []string{"N", "R", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"},
		"Statuses": peopleStatuses}
	if q == "" && year == "" && reg == "" && status == "" {
		s.render(w, r, http.StatusOK, "people.html", rq, "Find a person", data)
		return
	}
	ctx := r.Context()
	query := rq.scope().Query(directory.AccountQuery{Search: q, YearGroup: year, RegGroup: reg, Status: status, ByName: true})
	total, err := s.store.CountAccounts(ctx, query)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	pages := max((total+peoplePage-1)/peoplePage, 1)
	pageNo = min(pageNo, pages)
	query.Limit, query.Offset = peoplePage, (pageNo-1)*peoplePage
	found, err := s.store.ListAccounts(ctx, query)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	link := func(n int) string {
		u := url.Values{}
		for k, x := range map[string]string{"q": q, "year": year, "reg": reg, "status": string(status)} {
			if x != "" {
				u.Set(k, x)
			}
		}
		if n > 1 {
			u.Set("page", strconv.Itoa(n))
		}
		return "/staff/people?" + u.Encode()
	}
	data["Searched"] = true
	data["Found"] = found
	data["Total"] = total
	data["First"] = query.Offset + 1
	data["Last"] = query.Offset + len(found)
	data["Page"], data["Pages"] = pageNo, pages
	if pageNo > 1 {
		data["Prev"] = link(pageNo - 1)
	}
	if pageNo < pages {
		data["Next"] = link(pageNo + 1)
	}
	s.render(w, r, http.StatusOK, "people.html", rq, "Find a person", data)
}

// sigView is a signature with the document it signs.
type sigView struct {
	directory.Signature
	Doc directory.AUPDocument
}

func (s *Server) personData(ctx context.Context, rq *request, a directory.Account) (map[string]any, error) {
	st := s.store
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
	for _, aud := range s.d.Gate().Policy.AudiencesOf(a) {
		if d, ok := directory.CurrentDocument(directory.DocumentsFor(docs, a.School), aud, now); ok {
			sigDocs = append(sigDocs, d)
		}
	}
	wifi, err := s.d.Gate().Check(ctx, a, directory.ServiceWiFi, now)
	if err != nil {
		return nil, err
	}
	type activeSusp struct {
		directory.Suspension
		Active        bool
		CreatedByName string
		LiftedByName  string
	}
	// Why someone is suspended (the reason, the incident, the conversation
	// at the lift) is for safeguarding roles; others see that access is
	// suspended, what it covers and until when.
	seeWhy := rq.has(RoleSafeguarding)
	// Legal holds are shown to, set and lifted by the safeguarding and
	// data-protection roles.
	canHold := rq.has(RoleSafeguarding) || rq.has(RoleDataProtection)
	var holds []directory.LegalHold
	if canHold {
		if holds, err = st.LegalHolds(ctx, a.ID); err != nil {
			return nil, err
		}
	}
	names := s.actorNames(ctx)
	var sus []activeSusp
	for _, x := range susp {
		if !seeWhy {
			x = x.Public()
		}
		v := activeSusp{Suspension: x, Active: x.ActiveAt(now), CreatedByName: names.name(x.CreatedBy)}
		if x.LiftedBy != "" {
			v.LiftedByName = names.name(x.LiftedBy)
		}
		sus = append(sus, v)
	}
	return map[string]any{
		"Account": a, "Groups": groups, "Signatures": sv, "Consents": consents, "Credentials": creds,
		"Suspensions": sus, "LastPortal": last[directory.ServicePortal], "LastWiFi": last[directory.ServiceWiFi],
		"LastLDAP": last[directory.ServiceLDAP], "Sessions": sessions, "SignDocs": sigDocs,
		"Gate": wifi, "GateMessage": staffGateMessage(wifi, a, s.loc),
		"CanSuspend": rq.has(RoleSafeguarding), "SeeWhy": seeWhy, "Holds": holds, "CanHold": canHold, "Scopes": suspensionScopes, "CanRecord": rq.has(RoleTechnician) && !hasEnded(wifi),
		"Ended": hasEnded(wifi),
		"Today": now.In(s.loc).Format(directory.DateLayout), "Done": "",
	}, nil
}

// hasEnded says a decision is about an account that has ended: a leaver or a
// disabled account signs nothing and needs no consent, so staff pages do
// not offer to record either.
func hasEnded(d directory.Decision) bool {
	return d.Reason == directory.ReasonLeft || d.Reason == directory.ReasonDisabled
}

// refuseEnded answers a form to record a signature or consent for an
// account that has ended; it reports whether it did.
func (s *Server) refuseEnded(w http.ResponseWriter, r *http.Request, rq *request, a directory.Account) bool {
	dec, err := s.d.Gate().Check(r.Context(), a, directory.ServiceWiFi, s.d.Now())
	if err != nil {
		s.fail(w, r, rq, err)
		return true
	}
	if !hasEnded(dec) {
		return false
	}
	s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, a.Name()+"'s account has ended, so there is nothing to sign or consent to.", "")
	return true
}

// person loads the account named in the path, answering 404 itself.
func (s *Server) person(w http.ResponseWriter, r *http.Request, rq *request) (directory.Account, bool) {
	a, err := s.store.AccountByUsername(r.Context(), r.PathValue("username"))
	if errors.Is(err, directory.ErrNotFound) {
		s.render(w, r, http.StatusNotFound, "notfound.html", rq, "No such person", nil)
		return a, false
	}
	if err != nil {
		s.fail(w, r, rq, err)
		return a, false
	}
	return a, s.inScope(w, r, rq, a)
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

func (s *Server) showPerson(w http.ResponseWriter, r *http.Request, rq *request, a directory.Account, status int, problem, done string, invalid ...string) {
	ctx := r.Context()
	if err := s.record(ctx, rq, audit.ActionPortalView, audit.AccountTarget(a.Username), nil, nil); err != nil {
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
	data["Invalid"] = invalid
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

// invalid shows the person page with the service's own words for input
// that breaks a rule; it reports whether err was such.
func (s *Server) invalid(w http.ResponseWriter, r *http.Request, rq *request, a directory.Account, err error) bool {
	var inv *directory.InvalidError
	if !errors.As(err, &inv) {
		return false
	}
	s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, inv.Msg, "")
	return true
}

func (s *Server) suspend(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	until, err := s.parseWhen(r.PostFormValue("until"))
	if err != nil {
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "The end date is not a date: use the date picker or type YYYY-MM-DD.", "", "until")
		return
	}
	// Suspend ends live Wi-Fi sessions and caches now, not at the next
	// sign-in.
	scope, err := directory.ParseSuspensionScope(r.PostFormValue("scope"))
	if s.invalid(w, r, rq, a, err) {
		return
	}
	sp := directory.Suspension{Until: until, Scope: scope, Reason: r.PostFormValue("reason"), IncidentRef: r.PostFormValue("incident")}
	if r.PostFormValue("ends") == "role" {
		sp.LiftRole = string(RoleSafeguarding)
	}
	_, err = s.d.Suspend(r.Context(), audit.UserActor(rq.acct.Username), a, sp)
	if s.invalid(w, r, rq, a, err) {
		return
	}
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.done(w, r, a, "suspended")
}

func (s *Server) lift(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PostFormValue("suspension"), 10, 64)
	talked, derr := s.parseWhen(r.PostFormValue("talked"))
	if derr != nil {
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "The date of the conversation is not a date: use the date picker or type YYYY-MM-DD.", "", "talked")
		return
	}
	l := directory.Lifting{With: r.PostFormValue("with"), Note: r.PostFormValue("note"), At: talked}
	for _, role := range rq.roles {
		l.Roles = append(l.Roles, string(role))
	}
	_, err := s.d.LiftWith(r.Context(), audit.UserActor(rq.acct.Username), a, id, l)
	if errors.Is(err, directory.ErrNotFound) {
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "That suspension is not in force any more.", "")
		return
	}
	if errors.Is(err, directory.ErrRoleRequired) {
		s.showPerson(w, r, rq, a, http.StatusForbidden, "Only the role named on this suspension may lift it.", "")
		return
	}
	if s.invalid(w, r, rq, a, err) {
		return
	}
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
	if s.refuseEnded(w, r, rq, a) {
		return
	}
	ctx := r.Context()
	docs, err := s.store.AUPDocuments(ctx)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	now := s.d.Now()
	id := r.PostFormValue("document")
	var doc *directory.AUPDocument
	for _, aud := range s.d.Gate().Policy.AudiencesOf(a) {
		if d, ok := directory.CurrentDocument(directory.DocumentsFor(docs, a.School), aud, now); ok && formatID(d.ID) == id {
			doc = &d
		}
	}
	if doc == nil {
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "Choose the policy the paper form is for.", "")
		return
	}
	formDate, derr := s.parseWhen(r.PostFormValue("form_date"))
	if derr != nil {
		formDate = time.Time{} // the service asks for a date
	}
	_, err = s.d.RecordSignature(ctx, audit.UserActor(rq.acct.Username), a, directory.Signature{DocumentID: doc.ID, Digest: doc.Digest,
		Method: directory.SignPaper, FormDate: formDate, Witness: r.PostFormValue("witness"),
		NoticeAcknowledged: doc.MonitoringNotice != "" && r.PostFormValue("notice") == "yes"})
	switch {
	case s.invalid(w, r, rq, a, err):
		return
	case errors.Is(err, directory.ErrConflict):
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, a.Name()+" has already signed this version: nothing more to record.", "")
		return
	case err != nil:
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
	if s.refuseEnded(w, r, rq, a) {
		return
	}
	given, derr := s.parseWhen(r.PostFormValue("given"))
	if derr != nil {
		given = time.Time{} // the service asks for a date
	}
	_, err := s.d.RecordConsent(r.Context(), audit.UserActor(rq.acct.Username), a, directory.Consent{ParentName: r.PostFormValue("parent"),
		Relationship: r.PostFormValue("relationship"), GivenAt: given, Method: directory.SignPaper,
		Decision: directory.ConsentDecision(r.PostFormValue("decision"))})
	if s.invalid(w, r, rq, a, err) {
		return
	}
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.done(w, r, a, "consent")
}

// roleNames are rq's staff roles as the directory names them.
func roleNames(rq *request) []string {
	out := make([]string, len(rq.roles))
	for i, r := range rq.roles {
		out[i] = string(r)
	}
	return out
}

// setHold puts a legal hold on a person's records.
func (s *Server) setHold(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	_, err := s.d.SetLegalHold(r.Context(), audit.UserActor(rq.acct.Username), roleNames(rq), a, directory.LegalHold{
		Kind: directory.LegalHoldKind(r.PostFormValue("kind")), Reason: r.PostFormValue("reason"), Reference: r.PostFormValue("reference")})
	if s.invalid(w, r, rq, a, err) {
		return
	}
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.done(w, r, a, "held")
}

// liftHold lifts the open legal holds on a person's records.
func (s *Server) liftHold(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	_, err := s.d.LiftLegalHolds(r.Context(), audit.UserActor(rq.acct.Username), roleNames(rq), a, r.PostFormValue("note"))
	if errors.Is(err, directory.ErrNotFound) {
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "There is no open legal hold to lift.", "")
		return
	}
	if s.invalid(w, r, rq, a, err) {
		return
	}
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.done(w, r, a, "hold-lifted")
}
