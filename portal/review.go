package portal

import (
	"errors"
	"net/http"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// The access review page: technicians and auditors see the list and
// download it; technicians record a review, a decision and a reason per
// row. The rules live in directory (Review, RecordReview); this file only
// reads the form.

// reviewRow is one entry of the review as the page shows it.
type reviewRow struct {
	directory.ReviewItem
	Key      string // names its form fields: kind:username:group
	Decision string
	Reason   string
}

func reviewKey(it directory.ReviewItem) string {
	return string(it.Kind) + ":" + it.Username + ":" + it.Group
}

func (s *Server) reviewData(rv directory.Review) map[string]any {
	rows := make([]reviewRow, len(rv.Items))
	for i, it := range rv.Items {
		rows[i] = reviewRow{ReviewItem: it, Key: reviewKey(it)}
	}
	return map[string]any{"Review": rv, "Rows": rows, "Overdue": !rv.NextDue.After(s.d.Now())}
}

func (s *Server) reviewPage(w http.ResponseWriter, r *http.Request, rq *request) {
	rv, err := s.d.Review(r.Context(), s.reviewPolicy(rq))
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "review.html", rq, "Access review", s.reviewData(rv))
}

// reviewRecord takes a decision and a reason for every row of the review
// as it stands now: a row added since the page was drawn, or one left
// blank, sends the page back with what was typed kept. Rows are matched by
// their key against the current review, so a form cannot name an account
// that is not on it.
func (s *Server) reviewRecord(w http.ResponseWriter, r *http.Request, rq *request) {
	rv, err := s.d.Review(r.Context(), s.reviewPolicy(rq))
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	data := s.reviewData(rv)
	rows := data["Rows"].([]reviewRow)
	var decs []directory.ReviewDecision
	missing := 0
	for i := range rows {
		row := &rows[i]
		row.Decision, row.Reason = r.PostFormValue("d:"+row.Key), r.PostFormValue("r:"+row.Key)
		if (row.Decision != "keep" && row.Decision != "remove") || row.Reason == "" {
			missing++
			continue
		}
		d := directory.ReviewDecision{Username: row.Username, Remove: row.Decision == "remove", Reason: row.Reason}
		if d.Remove && (row.Kind == directory.ReviewPrivileged || row.Kind == directory.ReviewException) {
			d.Group = row.Group
		}
		decs = append(decs, d)
	}
	if missing > 0 || len(decs) == 0 {
		data["Error"] = "Choose keep or remove and give a reason on every row: nothing has been recorded yet."
		s.render(w, r, http.StatusUnprocessableEntity, "review.html", rq, "Access review", data)
		return
	}
	err = s.d.RecordReview(r.Context(), "user:"+rq.acct.Username, directory.ReviewRecord{Reviewer: rq.acct.Username,
		Notes: r.PostFormValue("notes"), Decisions: decs, School: rq.acct.School})
	if errors.Is(err, directory.ErrManagedByMIS) {
		data["Error"] = "Nothing was recorded: " + err.Error() + ". Keep that row and change the group in the MIS."
		s.render(w, r, http.StatusConflict, "review.html", rq, "Access review", data)
		return
	}
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	http.Redirect(w, r, "/staff/review?recorded=1", http.StatusSeeOther)
}

// reviewExport downloads the review for the auditor, recorded in the trail
// first as the register's download is.
func (s *Server) reviewExport(w http.ResponseWriter, r *http.Request, rq *request) {
	format := r.PostFormValue("format")
	if format != audit.FormatXLSX {
		format = audit.FormatCSV
	}
	rv, err := s.d.Review(r.Context(), s.reviewPolicy(rq))
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if err := s.record(r.Context(), rq, "export.review", directory.ReviewTarget, nil, map[string]any{"format": format, "entries": len(rv.Items)}); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	name := "access-review-" + rv.At.In(s.loc).Format(directory.DateLayout)
	if format == audit.FormatXLSX {
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		name += ".xlsx"
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		name += ".csv"
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	allowLongDownload(w)
	if err := directory.ExportReview(w, format, rv); err != nil {
		s.log.Error("review export failed part-way", "err", err)
	}
}
