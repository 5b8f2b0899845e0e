package portal

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"keystage.dev/keystage/directory"
)

// A teacher's classes: the registration and teaching groups the MIS puts
// the teacher in, and for each pupil there the account, AUP, parental
// consent and Wi-Fi as they stand. A teacher sees only the groups they are
// a member of, and changes nothing here.

// teachingGroup reports whether g is a group of the MIS that a teacher
// teaches: a teaching class or a registration group.
func teachingGroup(g directory.Group) bool {
	return g.Source == directory.SourceMIS && (g.Kind == directory.GroupClass || g.Kind == directory.GroupReg)
}

// classPupil is one member of a class as the teacher's page shows it.
type classPupil struct {
	Username, Name string
	Active         bool
	AUPUnsigned    bool
	NeedsConsent   bool // consent is needed and none is in force
	WiFi           bool // a Wi-Fi credential in force
	NoPassword     bool // no login password yet: needs a first password
	MustChange     bool // must change the password at next sign-in
}

func (s *Server) teacherGroups(ctx context.Context, a directory.Account) ([]directory.Group, error) {
	groups, err := s.store.GroupsOf(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(groups, func(g directory.Group) bool { return !teachingGroup(g) }), nil
}

func (s *Server) classesPage(w http.ResponseWriter, r *http.Request, rq *request) {
	groups, err := s.teacherGroups(r.Context(), rq.acct)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "classes.html", rq, "Your classes", map[string]any{"Groups": groups})
}

func (s *Server) classPage(w http.ResponseWriter, r *http.Request, rq *request) {
	ctx := r.Context()
	groups, err := s.teacherGroups(ctx, rq.acct)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	// Only a group the teacher is in: another teacher's class is "not
	// found", as a group that does not exist is.
	i := slices.IndexFunc(groups, func(g directory.Group) bool { return g.Name == r.PathValue("group") })
	if i < 0 {
		s.render(w, r, http.StatusNotFound, "notfound.html", rq, "Page not found", nil)
		return
	}
	g := groups[i]
	members, err := s.store.Members(ctx, g.ID)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	now := s.d.Now()
	var pupils []classPupil
	for _, u := range members {
		a, err := s.store.AccountByUsername(ctx, u)
		if errors.Is(err, directory.ErrNotFound) {
			continue
		} else if err != nil {
			s.fail(w, r, rq, err)
			return
		}
		if a.Role != directory.RolePupil {
			continue // the teachers of the class
		}
		p := classPupil{Username: a.Username, Name: a.Name(), Active: a.Status == directory.StatusActive, MustChange: a.MustChangePassword}
		items, err := s.aupItems(ctx, a)
		if err != nil {
			s.fail(w, r, rq, err)
			return
		}
		for _, it := range items {
			p.AUPUnsigned = p.AUPUnsigned || it.Signed == nil
		}
		if s.d.Gate().Policy.NeedsConsent(a) {
			cs, err := s.store.Consents(ctx, a.ID)
			if err != nil {
				s.fail(w, r, rq, err)
				return
			}
			p.NeedsConsent = !slices.ContainsFunc(cs, func(c directory.Consent) bool { return c.WithdrawnAt.IsZero() })
		}
		wifi, err := s.store.Credentials(ctx, a.ID, directory.CredWiFi)
		if err != nil {
			s.fail(w, r, rq, err)
			return
		}
		p.WiFi = slices.ContainsFunc(wifi, func(c directory.Credential) bool { return c.Live(now) })
		pw, err := s.store.Credentials(ctx, a.ID, directory.CredPassword)
		if err != nil {
			s.fail(w, r, rq, err)
			return
		}
		p.NoPassword = !slices.ContainsFunc(pw, func(c directory.Credential) bool { return c.Live(now) })
		pupils = append(pupils, p)
	}
	if err := s.record(ctx, rq, "portal.view_class", "group:"+g.Name, nil, map[string]any{"pupils": len(pupils)}); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	s.render(w, r, http.StatusOK, "class.html", rq, g.Description, map[string]any{"Group": g, "Pupils": pupils})
}
