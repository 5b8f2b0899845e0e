package portal

import (
	"net/http"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// scopeOf is what a member of staff may act on: the people of their own
// school, or everyone when their account is the trust's (or the
// Keystage is one school). Their roles come from their groups as before;
// their school bounds them (docs/trusts.md).
func (rq *request) scope() directory.SchoolScope {
	return directory.SchoolScope{School: rq.acct.School}
}

// inScope reports whether the member of staff may act on a; when not, it
// records the refusal in the trail and answers 403 with the reason.
func (s *Server) inScope(w http.ResponseWriter, r *http.Request, rq *request, a directory.Account) bool {
	err := rq.scope().Check(a)
	if err == nil {
		return true
	}
	if rerr := s.record(r.Context(), rq, audit.ActionScopeRefused, audit.AccountTarget(a.Username), nil,
		map[string]any{"acting_school": rq.acct.School, "school": a.School, "also_schools": a.AlsoSchools, "page": r.URL.Path}); rerr != nil {
		s.fail(w, r, rq, rerr)
		return false
	}
	s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Not at your school",
		map[string]any{"OutOfScope": err.Error()})
	return false
}
