package portal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

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

// reviewPolicy is the access review a member of staff sees: their
// school's people, or everyone's for the trust's own staff.
func (s *Server) reviewPolicy(rq *request) directory.ReviewPolicy {
	p := s.cfg.Review
	p.School = rq.acct.School
	return p
}

// schoolExports is what Exports implements to give one school's register
// (directory.Exports does).
type schoolExports interface {
	RegisterOf(ctx context.Context, w io.Writer, school string, asOf time.Time) error
}

// schoolRegister writes the register a member of staff may download: the
// trust's for the trust's own, their school's for a school's. A school's
// auditor is refused the audit trail, which is the whole trust's.
func (s *Server) schoolRegister(ctx context.Context, rq *request, w io.Writer, asOf time.Time) (bool, error) {
	if rq.scope().Trust() {
		return true, s.svc.Exports.Register(ctx, w, asOf)
	}
	x, ok := s.svc.Exports.(schoolExports)
	if !ok {
		return false, nil
	}
	return true, x.RegisterOf(ctx, w, rq.acct.School, asOf)
}

// schoolName is the name a signed-in person sees: their school's in a
// trust, else the configured one.
func (s *Server) schoolName(rq *request) string {
	if rq.signedIn() {
		if name := s.cfg.SchoolNames[rq.acct.School]; name != "" {
			return name
		}
	}
	return s.cfg.SchoolName
}

// dashboardFor is the technician's overview as a member of staff may see
// it: their school's figures, or the trust's for the trust's own staff.
func (s *Server) dashboardFor(ctx context.Context, rq *request) (*dashboardView, error) {
	return s.dashboard(ctx, rq.scope())
}

// schoolLifecycle is what Lifecycle implements to plan one school's sync
// (JobsLifecycle does).
type schoolLifecycle interface {
	PlanSchool(ctx context.Context, school string) (Plan, error)
}

// planFor plans a job as a member of staff may: a school's technician
// syncs their own school, and the leaver job, which runs for the whole
// trust, is the trust's technicians'.
func (s *Server) planFor(ctx context.Context, rq *request, job, school string) (Plan, error) {
	if rq.scope().Trust() {
		if l, ok := s.svc.Lifecycle.(schoolLifecycle); ok && job == "sync" && s.cfg.SchoolNames[school] != "" {
			return l.PlanSchool(ctx, school) // a trust technician syncs the school chosen
		}
		return s.svc.Lifecycle.Plan(ctx, job)
	}
	if job != "sync" {
		return Plan{}, errors.New("the leaver job runs for the whole trust: the trust's technicians run it")
	}
	l, ok := s.svc.Lifecycle.(schoolLifecycle)
	if !ok {
		return Plan{}, errors.New("this sync is the whole trust's: the trust's technicians run it")
	}
	return l.PlanSchool(ctx, rq.acct.School)
}

// schoolChoice is a school a trust technician may sync on its own.
type schoolChoice struct{ ID, Name string }

// schoolChoices are the schools the sync page offers the trust's own
// technicians; none for a school's (theirs is implied) or a single school.
func (s *Server) schoolChoices(rq *request) []schoolChoice {
	if !rq.scope().Trust() || len(s.cfg.SchoolNames) == 0 {
		return nil
	}
	var out []schoolChoice
	for id, name := range s.cfg.SchoolNames {
		out = append(out, schoolChoice{id, name})
	}
	slices.SortFunc(out, func(a, b schoolChoice) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ofSchool reports whether an MIS source is one school's part of the
// trust's export (SOURCE#SCHOOL, as lifecycle.SplitByOrg names it).
func ofSchool(source, school string) bool { return strings.HasSuffix(source, "#"+school) }
