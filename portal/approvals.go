package portal

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// The approvals page of one person: their personal devices and the
// approvals in force (a personal device, an exception to the network or
// the password policy), with forms for those who may approve. Who may is
// the directory's rule ([approvals] in the configuration); the page is
// open to technicians, safeguarding leads and members of the approver
// groups, and looking is recorded, as for the person page.

// approvalsAccess says what the signed-in person may do on the page.
type approvalsAccess struct {
	Devices    bool // may approve personal devices
	Exceptions bool // may approve exceptions
	View       bool
}

func (s *Server) approvalsAccess(r *http.Request, rq *request) (approvalsAccess, error) {
	gs, err := s.store.GroupsOf(r.Context(), rq.acct.ID)
	if err != nil {
		return approvalsAccess{}, err
	}
	c := s.d.Controls()
	var acc approvalsAccess
	for _, g := range gs {
		acc.Devices = acc.Devices || slices.Contains(c.DeviceApprovers, g.Name)
		acc.Exceptions = acc.Exceptions || slices.Contains(c.ExceptionApprovers, g.Name)
	}
	acc.View = acc.Devices || acc.Exceptions || rq.has(RoleTechnician) || rq.has(RoleSafeguarding)
	return acc, nil
}

// approvalsFind sends a search for a username to that person's page.
func (s *Server) approvalsFind(w http.ResponseWriter, r *http.Request, rq *request) {
	acc, err := s.approvalsAccess(r, rq)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if !acc.View {
		s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Not available", map[string]any{"Passkey": false})
		return
	}
	if u := strings.TrimSpace(r.URL.Query().Get("user")); u != "" {
		http.Redirect(w, r, "/staff/approvals/"+url.PathEscape(strings.ToLower(u)), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "approvals.html", rq, "Approvals", map[string]any{"Access": acc})
}

func (s *Server) approvalsPage(w http.ResponseWriter, r *http.Request, rq *request) {
	// done names what was just done, in fixed words (never text from the
	// address).
	msg := map[string]string{"approved": "The approval is recorded.", "revoked": "The approval is revoked."}[r.URL.Query().Get("done")]
	s.showApprovals(w, r, rq, http.StatusOK, msg, nil)
}

// showApprovals renders a person's approvals with a message (an error
// when status is not 200) and the forms' values.
func (s *Server) showApprovals(w http.ResponseWriter, r *http.Request, rq *request, status int, msg string, form url.Values) {
	ctx := r.Context()
	acc, err := s.approvalsAccess(r, rq)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if !acc.View {
		s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Not available", map[string]any{"Passkey": false})
		return
	}
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	if status == http.StatusOK && msg == "" {
		if err := s.record(ctx, rq, audit.ActionPortalView, audit.AccountTarget(a.Username), nil, map[string]string{"page": "approvals"}); err != nil {
			s.fail(w, r, rq, err)
			return
		}
	}
	aps, err := s.store.Approvals(ctx, a.ID)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	devs, err := s.store.Devices(ctx, a.ID)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	now := s.d.Now()
	type row struct {
		directory.Approval
		InForce bool
		What    string
	}
	var rows []row
	for _, ap := range slices.Backward(aps) {
		rows = append(rows, row{Approval: ap, InForce: ap.InForce(now), What: directory.ApprovalSummary(ap)})
	}
	data := map[string]any{"Account": a, "Approvals": rows, "Devices": devs, "Access": acc, "Form": form,
		"Rule": s.d.Controls().Devices.Rule(a.Role)}
	switch {
	case status != http.StatusOK:
		data["Error"] = msg
	case msg != "":
		data["Notice"] = msg
	}
	s.render(w, r, status, "approvals.html", rq, "Approvals: "+a.Username, data)
}

// approvalsAdd records an approval for the person, approved by the one
// signed in.
func (s *Server) approvalsAdd(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	form := r.PostForm
	until, err := s.parseWhen(r.PostFormValue("until"))
	if err != nil || until.IsZero() {
		s.showApprovals(w, r, rq, http.StatusUnprocessableEntity, "Give the end date: every approval ends, and is renewed if still needed.", form)
		return
	}
	ap := directory.Approval{Until: until, Reason: r.PostFormValue("reason")}
	switch r.PostFormValue("kind") {
	case string(directory.ApprovalDevice):
		ap.Kind, ap.Device = directory.ApprovalDevice, strings.TrimSpace(r.PostFormValue("mac"))
	case string(directory.ApprovalNetwork):
		ap.Kind, ap.VLAN, ap.FilterID = directory.ApprovalNetwork, strings.TrimSpace(r.PostFormValue("vlan")), strings.TrimSpace(r.PostFormValue("filter"))
	case string(directory.ApprovalPassword):
		ap.Kind, ap.PasswordPolicy = directory.ApprovalPassword, strings.TrimSpace(r.PostFormValue("policy"))
	default:
		s.showApprovals(w, r, rq, http.StatusUnprocessableEntity, "Choose what is approved.", form)
		return
	}
	_, err = s.d.Approve(r.Context(), audit.UserActor(rq.acct.Username), rq.acct, a, ap)
	var inv *directory.InvalidError
	switch {
	case errors.Is(err, directory.ErrNotApprover):
		s.showApprovals(w, r, rq, http.StatusForbidden, "You may not approve this: "+approverWords(err), form)
		return
	case errors.As(err, &inv):
		s.showApprovals(w, r, rq, http.StatusUnprocessableEntity, inv.Msg, form)
		return
	case err != nil:
		s.fail(w, r, rq, err)
		return
	}
	http.Redirect(w, r, "/staff/approvals/"+url.PathEscape(a.Username)+"?done=approved", http.StatusSeeOther)
}

// approverWords is an ErrNotApprover's message without where it came from.
func approverWords(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, directory.ErrNotApprover.Error()+": "); i >= 0 {
		return msg[i+len(directory.ErrNotApprover.Error())+2:]
	}
	return msg
}

// approvalsRevoke ends an approval now; only someone who may approve its
// kind may.
func (s *Server) approvalsRevoke(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	acc, err := s.approvalsAccess(r, rq)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	aps, err := s.store.Approvals(r.Context(), a.ID)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	i := slices.IndexFunc(aps, func(ap directory.Approval) bool { return ap.ID == id })
	if i < 0 {
		s.notFound(w, r)
		return
	}
	if (aps[i].Kind == directory.ApprovalDevice && !acc.Devices) || (aps[i].Kind != directory.ApprovalDevice && !acc.Exceptions) {
		s.showApprovals(w, r, rq, http.StatusForbidden, "Only those who may approve it may revoke it.", nil)
		return
	}
	if _, err := s.d.RevokeApproval(r.Context(), audit.UserActor(rq.acct.Username), a, id); err != nil {
		if errors.Is(err, directory.ErrNotFound) {
			s.showApprovals(w, r, rq, http.StatusConflict, "That approval is no longer in force.", nil)
			return
		}
		s.fail(w, r, rq, err)
		return
	}
	http.Redirect(w, r, "/staff/approvals/"+url.PathEscape(a.Username)+"?done=revoked", http.StatusSeeOther)
}
