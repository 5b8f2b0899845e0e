package portal

import (
	"context"
	"time"

	"keystage.dev/keystage/directory"
)

// nasQuietAfter is how long a NAS client may go unheard before the
// dashboard marks it: an access point answers its clients' sign-ins and
// sends accounting updates all day.
const nasQuietAfter = time.Hour

// dashboardView is a technician's overview as the home page shows it.
type dashboardView struct {
	directory.Dashboard
	// ByRole is the account counts as rows: role, active, disabled.
	ByRole  []roleCounts
	Overdue bool
	Quiet   map[string]bool // NAS clients not heard from within nasQuietAfter
}

type roleCounts struct {
	Role             directory.Role
	Active, Disabled int
}

func (s *Server) dashboard(ctx context.Context, scope directory.SchoolScope) (*dashboardView, error) {
	db, err := s.d.DashboardOf(ctx, s.cfg.Review, scope)
	if err != nil {
		return nil, err
	}
	v := &dashboardView{Dashboard: db, Overdue: !db.NextReview.After(db.At), Quiet: map[string]bool{}}
	for _, c := range db.Accounts {
		if len(v.ByRole) == 0 || v.ByRole[len(v.ByRole)-1].Role != c.Role {
			v.ByRole = append(v.ByRole, roleCounts{Role: c.Role})
		}
		rc := &v.ByRole[len(v.ByRole)-1]
		switch c.Status {
		case directory.StatusActive:
			rc.Active += c.N
		case directory.StatusDisabled:
			rc.Disabled += c.N
		}
	}
	for _, n := range db.NAS {
		if n.LastHeard.Before(db.At.Add(-nasQuietAfter)) {
			v.Quiet[n.Name] = true
		}
	}
	return v, nil
}
