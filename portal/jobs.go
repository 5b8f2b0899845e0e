package portal

import (
	"context"
	"io"
	"net/http"
	"slices"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// Lifecycle is the MIS sync and the leaver job as plan-then-apply. The
// lifecycle package implements it; the portal only shows the plan and
// passes the confirmation on.
type Lifecycle interface {
	// Plan works out what a job ("sync" or "leavers") would change, changing
	// nothing.
	Plan(ctx context.Context, job string) (Plan, error)
	// Apply carries out the plan with that id, as actor, and refuses one
	// that no longer matches the directory.
	Apply(ctx context.Context, actor, planID string) (Applied, error)
}

// Plan is a job's preview.
type Plan struct {
	ID      string
	Job     string
	Source  string
	MadeAt  time.Time
	Summary []Count
	Lines   []PlanLine
}

// Count is one figure of a plan or a run.
type Count struct {
	What string
	N    int
}

// PlanLine is one change a plan would make.
type PlanLine struct {
	Action   string // create, update, disable, ...
	Username string
	Detail   string
}

// Applied is what an apply did.
type Applied struct {
	Run     directory.SyncRun
	Summary []Count
}

// Exports are the auditors' downloads: the access register as of a date
// and the audit trail. The audit package implements them.
type Exports interface {
	// Register writes the access register as of asOf as CSV.
	Register(ctx context.Context, w io.Writer, asOf time.Time) error
	// Events writes the audit trail with its hash chain.
	Events(ctx context.Context, w io.Writer) error
}

var jobs = map[string]string{"sync": "MIS sync", "leavers": "Leaver job"}

func (s *Server) syncPage(w http.ResponseWriter, r *http.Request, rq *request) {
	runs, err := s.store.SyncRuns(r.Context(), "", 10)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	// The rows the MIS sync refused stay on show until an export fixes them.
	refused, err := s.store.SyncRefusals(r.Context())
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	// Runs name who ran them in words, not as audit actor ids.
	type runView struct {
		directory.SyncRun
		By string
	}
	names := s.actorNames(r.Context())
	var rv []runView
	for _, run := range runs {
		rv = append(rv, runView{run, names.name(run.Actor)})
	}
	if !rq.scope().Trust() {
		// A school's technician sees their school's part of the sync only.
		refused = slices.DeleteFunc(refused, func(x directory.SyncRefusal) bool { return !ofSchool(x.Source, rq.acct.School) })
		rv = slices.DeleteFunc(rv, func(x runView) bool { return x.Kind == "sync" && !ofSchool(x.Source, rq.acct.School) })
	}
	s.render(w, r, http.StatusOK, "sync.html", rq, "MIS sync and leavers", map[string]any{"Runs": rv, "Refused": refused, "Schools": s.schoolChoices(rq)})
}

func (s *Server) syncPlan(w http.ResponseWriter, r *http.Request, rq *request) {
	job := r.PostFormValue("job")
	if _, ok := jobs[job]; !ok {
		http.Redirect(w, r, "/staff/sync", http.StatusSeeOther)
		return
	}
	plan, err := s.planFor(r.Context(), rq, job, r.PostFormValue("school"))
	if err != nil {
		s.render(w, r, http.StatusUnprocessableEntity, "sync.html", rq, "MIS sync and leavers", map[string]any{"Error": err.Error()})
		return
	}
	if err := s.record(r.Context(), rq, audit.ActionPortalPlan, audit.Target(audit.KindJob, job), nil, map[string]any{"plan": plan.ID, "summary": plan.Summary}); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "sync.html", rq, "MIS sync and leavers", map[string]any{"Plan": plan, "JobName": jobs[job]})
}

func (s *Server) syncApply(w http.ResponseWriter, r *http.Request, rq *request) {
	if r.PostFormValue("confirm") != "yes" {
		s.render(w, r, http.StatusUnprocessableEntity, "sync.html", rq, "MIS sync and leavers", map[string]any{
			"Error": "Tick the box to confirm the changes, or make a new plan."})
		return
	}
	res, err := s.svc.Lifecycle.Apply(r.Context(), audit.UserActor(rq.acct.Username), r.PostFormValue("plan"))
	if err != nil {
		s.render(w, r, http.StatusConflict, "sync.html", rq, "MIS sync and leavers", map[string]any{
			"Error": "The plan was not applied: " + err.Error() + ". Nothing was changed; make a new plan."})
		return
	}
	s.render(w, r, http.StatusOK, "sync.html", rq, "MIS sync and leavers", map[string]any{"Applied": res})
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, rq *request) {
	s.render(w, r, http.StatusOK, "audit.html", rq, "Audit", map[string]any{"Today": s.d.Now().In(s.loc).Format(directory.DateLayout)})
}

// The downloads are POSTs, so that a link on another site cannot make an
// auditor's browser fetch them, and each is recorded before it is sent.
func (s *Server) registerDownload(w http.ResponseWriter, r *http.Request, rq *request) {
	asOf := s.d.Now()
	if v := r.PostFormValue("as_of"); v != "" {
		t, err := s.parseWhen(v)
		if err != nil || t.After(asOf) {
			s.render(w, r, http.StatusUnprocessableEntity, "audit.html", rq, "Audit", map[string]any{
				"Error": "Give a date today or in the past, as YYYY-MM-DD.", "Today": asOf.In(s.loc).Format(directory.DateLayout)})
			return
		}
		// As of a date means at the end of that day.
		asOf = t.AddDate(0, 0, 1).Add(-time.Microsecond)
		if asOf.After(s.d.Now()) {
			asOf = s.d.Now()
		}
	}
	if _, ok := s.svc.Exports.(schoolExports); !ok && !rq.scope().Trust() {
		s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Not at your school",
			map[string]any{"OutOfScope": "The register here is the whole trust's: ask the trust's auditor."})
		return
	}
	after := map[string]any{"as_of": asOf}
	if rq.acct.School != "" {
		after["school"] = rq.acct.School
	}
	if err := s.record(r.Context(), rq, audit.ActionExportRegister, "register", nil, after); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	allowLongDownload(w)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="access-register-`+asOf.In(s.loc).Format(directory.DateLayout)+`.csv"`)
	if _, err := s.schoolRegister(r.Context(), rq, w, asOf); err != nil {
		s.log.Error("register export failed part-way", "err", err)
	}
}

func (s *Server) eventsDownload(w http.ResponseWriter, r *http.Request, rq *request) {
	if !rq.scope().Trust() {
		// The trail holds every school's people: the trust's auditor's.
		s.render(w, r, http.StatusForbidden, "forbidden.html", rq, "Not at your school",
			map[string]any{"OutOfScope": "The audit trail is the whole trust's: ask the trust's auditor for what you need."})
		return
	}
	if err := s.record(r.Context(), rq, audit.ActionExportAudit, "audit", nil, nil); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	allowLongDownload(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-events.jsonl"`)
	if err := s.svc.Exports.Events(r.Context(), w); err != nil {
		s.log.Error("audit export failed part-way", "err", err)
	}
}

// downloadTimeout bounds an auditor's download instead of the server's
// write timeout, which is for pages: the register of a large trust rebuilt
// as of a date, or a trail of millions of events, takes minutes to stream.
const downloadTimeout = 30 * time.Minute

func allowLongDownload(w http.ResponseWriter) {
	// An error means the connection cannot change its deadline (a test
	// recorder): the server's own timeout then stands.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(downloadTimeout))
}
