package portal

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// The filtering page: the mapping of groups to VLANs and filters in force,
// the proposals waiting for a decision, and the recent decisions. A
// technician proposes a change with a risk note; a member of the configured
// approver groups (the senior leadership) approves or rejects it; only an
// approved mapping reaches RADIUS. Any member of staff may read it.

// filteringView is what the page shows.
type filteringView struct {
	InForce  []directory.NetworkPolicy
	Pending  []directory.NetworkPolicy
	Decided  []directory.NetworkPolicy
	Approver bool     // the signed-in person may decide
	Groups   []string // who approves
}

func (s *Server) filteringView(r *http.Request, rq *request) (filteringView, error) {
	ctx := r.Context()
	all, err := s.store.NetworkPolicies(ctx)
	if err != nil {
		return filteringView{}, err
	}
	v := filteringView{InForce: directory.NetworkPoliciesInForce(all), Groups: s.d.Controls().FilteringApprovers}
	for _, p := range slices.Backward(all) {
		switch {
		case p.Status == directory.NetworkProposed:
			v.Pending = append(v.Pending, p)
		case len(v.Decided) < 20 && !p.InForce():
			v.Decided = append(v.Decided, p)
		}
	}
	gs, err := s.store.GroupsOf(ctx, rq.acct.ID)
	if err != nil {
		return filteringView{}, err
	}
	for _, g := range gs {
		v.Approver = v.Approver || slices.Contains(v.Groups, g.Name)
	}
	return v, nil
}

func (s *Server) filteringPage(w http.ResponseWriter, r *http.Request, rq *request) {
	s.showFiltering(w, r, rq, http.StatusOK, "", nil, nil)
}

// showFiltering renders the page with a message (an error when status is
// not 200) and the proposal form's values.
func (s *Server) showFiltering(w http.ResponseWriter, r *http.Request, rq *request, status int, msg string, form map[string]string, invalid []string) {
	v, err := s.filteringView(r, rq)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	data := map[string]any{"View": v, "Form": form, "Invalid": invalid}
	if status == http.StatusOK {
		data["Notice"] = msg
	} else {
		data["Error"] = msg
	}
	s.render(w, r, status, "filtering.html", rq, "Filtering", data)
}

func (s *Server) filteringPropose(w http.ResponseWriter, r *http.Request, rq *request) {
	form := map[string]string{}
	for _, k := range []string{"group", "vlan", "filter", "class", "timeout", "precedence", "risk", "removal"} {
		form[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	p := directory.NetworkPolicy{Group: form["group"], VLAN: form["vlan"], FilterID: form["filter"], Class: form["class"],
		RiskNote: form["risk"], Removal: form["removal"] == "yes"}
	if form["timeout"] != "" {
		d, err := time.ParseDuration(form["timeout"])
		if err != nil || d < 0 {
			s.showFiltering(w, r, rq, http.StatusUnprocessableEntity, "The session timeout is a length such as 8h or 90m.", form, []string{"timeout"})
			return
		}
		p.SessionTimeout = d
	}
	all, err := s.store.NetworkPolicies(r.Context())
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if p.Precedence, err = precedence(form["precedence"], p.Group, all); err != nil {
		s.showFiltering(w, r, rq, http.StatusUnprocessableEntity, "The precedence is a whole number: lower applies first.", form, []string{"precedence"})
		return
	}
	got, err := s.d.ProposeNetworkPolicy(r.Context(), audit.UserActor(rq.acct.Username), p)
	var inv *directory.InvalidError
	switch {
	case errors.As(err, &inv):
		field := "risk"
		if p.Group == "" {
			field = "group"
		}
		s.showFiltering(w, r, rq, http.StatusUnprocessableEntity, inv.Msg, form, []string{field})
		return
	case err != nil:
		s.fail(w, r, rq, err)
		return
	}
	s.showFiltering(w, r, rq, http.StatusOK, "Proposal "+formatID(got.ID)+" for "+got.Group+
		" recorded. It has no effect until one of the approvers approves it.", nil, nil)
}

// precedence is the one typed, or the group's in force, or after the
// others (but before *, which matches everyone), among the trust-wide
// mappings the page proposes (a school's are proposed with keystage filter
// propose --school).
func precedence(typed, group string, all []directory.NetworkPolicy) (int, error) {
	if typed != "" {
		return strconv.Atoi(typed)
	}
	last := 0
	for _, p := range directory.NetworkPoliciesInForce(all) {
		if p.School != "" {
			continue
		}
		if p.Group == group {
			return p.Precedence, nil
		}
		if p.Group != "*" && p.Precedence > last {
			last = p.Precedence
		}
	}
	return last + 10, nil
}

func (s *Server) filteringDecide(w http.ResponseWriter, r *http.Request, rq *request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	approve := r.PostFormValue("decision") == "approve"
	if !approve && r.PostFormValue("decision") != "reject" {
		s.showFiltering(w, r, rq, http.StatusUnprocessableEntity, "Choose approve or reject.", nil, nil)
		return
	}
	p, err := s.d.DecideNetworkPolicy(r.Context(), audit.UserActor(rq.acct.Username), rq.acct, id, approve, r.PostFormValue("note"))
	var inv *directory.InvalidError
	switch {
	case errors.Is(err, directory.ErrNotApprover):
		s.log.Warn("portal: a filtering decision refused", "user", rq.acct.Username, "proposal", id, "err", err)
		s.showFiltering(w, r, rq, http.StatusForbidden, "You may not decide this change: "+strings.TrimPrefix(err.Error(), "decide network policy "+formatID(id)+": "), nil, nil)
		return
	case errors.Is(err, directory.ErrNotFound):
		s.notFound(w, r)
		return
	case errors.As(err, &inv):
		s.showFiltering(w, r, rq, http.StatusUnprocessableEntity, inv.Msg, nil, nil)
		return
	case err != nil:
		s.fail(w, r, rq, err)
		return
	}
	word := "rejected"
	if approve {
		word = "approved: it applies to new Wi-Fi connections within seconds"
	}
	s.showFiltering(w, r, rq, http.StatusOK, "Proposal "+formatID(p.ID)+" for "+p.Group+" "+word+".", nil, nil)
}
