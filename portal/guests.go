package portal

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

func formatID(id int64) string { return strconv.FormatInt(id, 10) }

// guestDurations are the expiries a sponsor chooses from.
var guestDurations = []struct {
	Value string
	Label string
	D     time.Duration
}{
	{"4h", "4 hours", 4 * time.Hour},
	{"8h", "8 hours (a school day)", 8 * time.Hour},
	{"24h", "1 day", 24 * time.Hour},
	{"72h", "3 days", 72 * time.Hour},
	{"168h", "1 week", 168 * time.Hour},
	{"336h", "2 weeks", 336 * time.Hour},
}

func (s *Server) guestForm(w http.ResponseWriter, r *http.Request, rq *request) {
	s.render(w, r, http.StatusOK, "guests.html", rq, "Guest access", map[string]any{
		"Durations": s.durations(), "Sponsor": rq.acct.Name()})
}

func (s *Server) durations() []struct {
	Value string
	Label string
	D     time.Duration
} {
	var out []struct {
		Value string
		Label string
		D     time.Duration
	}
	for _, d := range guestDurations {
		if d.D <= s.cfg.Guests.MaxLifetime {
			out = append(out, d)
		}
	}
	return out
}

// guestIssue makes a guest account for a sponsor (see
// directory.IssueGuest) and shows the slip to hand the visitor.
func (s *Server) guestIssue(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	given := strings.TrimSpace(r.PostFormValue("given"))
	family := strings.TrimSpace(r.PostFormValue("family"))
	sponsor := strings.TrimSpace(r.PostFormValue("sponsor"))
	purpose := strings.TrimSpace(r.PostFormValue("purpose"))
	var dur time.Duration
	for _, d := range s.durations() {
		if d.Value == r.PostFormValue("duration") {
			dur = d.D
		}
	}
	data := map[string]any{"Durations": s.durations(), "Sponsor": sponsor, "Given": given, "Family": family, "Purpose": purpose}
	switch {
	case given == "" || family == "":
		data["Error"] = "Give the visitor's first name and family name."
		var empty []string
		if given == "" {
			empty = append(empty, "given")
		}
		if family == "" {
			empty = append(empty, "family")
		}
		data["Invalid"] = empty
	case sponsor == "":
		data["Error"] = "Name the member of staff who sponsors the visitor."
		data["Invalid"] = []string{"sponsor"}
	case dur == 0:
		data["Error"] = "Choose how long the access lasts."
		data["Invalid"] = []string{"duration"}
	}
	if data["Error"] != nil {
		s.render(w, r, http.StatusUnprocessableEntity, "guests.html", rq, "Guest access", data)
		return
	}
	now := s.d.Now()
	expires := now.Add(dur)
	a := directory.Account{Role: directory.RoleGuest, Source: directory.SourceManual, GivenName: given, FamilyName: family,
		StartDate: dateOnly(now, s.loc), LeaveDate: dateOnly(expires, s.loc),
		School: rq.acct.School} // a school's visitor, in its technician's scope
	g, err := s.d.IssueGuest(ctx, audit.UserActor(rq.acct.Username), directory.Guest{Account: a, Sponsor: sponsor, Purpose: purpose, ExpiresAt: expires})
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "guestslip.html", rq, "Guest access slip", map[string]any{
		"Account": g.Account, "Login": g.Login, "WiFi": g.WiFi, "Expires": expires, "Sponsor": sponsor,
		"Settings": s.cfg.WiFi, "PortalURL": s.cfg.PublicURL})
}

func dateOnly(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
