package portal

import (
	"net/http"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// issueEnrolment gives a member of staff a one-time code for their first
// passkey (directory/enrolment.go). A technician issues it for someone
// else, never for themselves: a stolen technician's password must not be
// enough to plant a passkey on the same account.
func (s *Server) issueEnrolment(w http.ResponseWriter, r *http.Request, rq *request) {
	a, ok := s.person(w, r, rq)
	if !ok {
		return
	}
	switch {
	case a.ID == rq.acct.ID:
		s.showPerson(w, r, rq, a, http.StatusForbidden, "You cannot issue a passkey enrolment code for yourself: ask another technician, or run keystage passkey enrol on the server.", "")
		return
	case a.Role != directory.RoleStaff || a.Status != directory.StatusActive:
		s.showPerson(w, r, rq, a, http.StatusUnprocessableEntity, "Passkey enrolment codes are for active staff accounts.", "")
		return
	}
	code, expires, err := s.d.IssuePasskeyEnrolment(r.Context(), audit.UserActor(rq.acct.Username), a)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "enrolment.html", rq, "Passkey enrolment code", map[string]any{
		"Account": a, "Code": code, "Expires": expires, "Hours": int(directory.EnrolmentTTL / time.Hour)})
}
