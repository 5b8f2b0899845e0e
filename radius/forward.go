package radius

import (
	"context"
	"sort"
	"time"

	"layeh.com/radius/rfc2866"

	"keystage.dev/keystage/directory"
)

// AccountingSink hears of each accounting record once it is stored, and of
// each session Keystage ended with a Disconnect (a web filter's forwarder
// is one). It is called on the request's goroutine, before the NAS gets
// its Accounting-Response: it must only note the record (append it to a
// queue), never wait for anyone.
type AccountingSink interface {
	Accounted(ctx context.Context, a Accounting)
}

// Accounting is what an AccountingSink is told.
type Accounting struct {
	// Status is the Acct-Status-Type by its RFC 2866 name: Start,
	// Interim-Update, Stop, Accounting-On or Accounting-Off.
	Status string
	// Disconnect says Keystage ended the session: the Stop is its own,
	// made once the NAS acknowledged the Disconnect-Request or could not
	// be asked.
	Disconnect bool
	At         time.Time
	// Session is the session as recorded; for Accounting-On and -Off, only
	// its NAS name and address.
	Session directory.Session
	// Groups are the account's groups, sorted (none for an unknown
	// user), and Policy the policy they give.
	Groups []string
	Policy Policy
}

// PolicyFor is the policy of an account in groups (the first in ps whose
// group it is in), as the Access-Accept gives it.
func PolicyFor(ps []Policy, groups []string) (Policy, bool) {
	m := make(map[string]bool, len(groups))
	for _, g := range groups {
		m[g] = true
	}
	return policyFor(ps, m)
}

// forward tells the sink of a record; status is its Acct-Status-Type.
func (s *Server) forward(ctx context.Context, status rfc2866.AcctStatusType, x directory.Session, at time.Time) {
	if s.cfg.Accounting == nil {
		return
	}
	a := Accounting{Status: rfc2866.AcctStatusType_Strings[status], At: at, Session: x}
	if x.AccountID != 0 {
		s.groupsOf(ctx, &a)
	}
	s.cfg.Accounting.Accounted(ctx, a)
}

// forwardStop tells the sink that a Disconnect ended a session, whatever
// the NAS answered: after an ACK the session is over; after a NAK the NAS
// did not have it; with no answer (or no NAS to ask) nothing better will
// be known, and a filter that kept the person's name on the address would
// be wrong for longer.
func (s *Server) forwardStop(ctx context.Context, x directory.Session, r DisconnectResult) {
	if s.cfg.Accounting == nil {
		return
	}
	now := s.d.Now()
	x.StoppedAt, x.UpdatedAt = now, now
	if x.TerminateCause == "" {
		x.TerminateCause = "Admin-Reset"
	}
	a := Accounting{Status: "Stop", Disconnect: true, At: now, Session: x}
	if x.AccountID != 0 {
		s.groupsOf(ctx, &a)
	}
	s.cfg.Accounting.Accounted(ctx, a)
}

// groupsOf fills in the groups and policy, from the cached facts when the
// account signed in lately, else from the store.
func (s *Server) groupsOf(ctx context.Context, a *Accounting) {
	var groups []string
	now := s.d.Now()
	var approvals []directory.Approval
	if e := s.facts.get(a.Session.Username, now); e != nil && e.account.ID == a.Session.AccountID {
		for g := range e.groups {
			groups = append(groups, g)
		}
		approvals = e.approvals
	} else {
		var err error
		if approvals, err = s.store.Approvals(ctx, a.Session.AccountID); err != nil {
			s.log.Warn("radius: reading approvals for the web filter", "user", a.Session.Username, "err", err)
		}
		gs, err := s.store.GroupsOf(ctx, a.Session.AccountID)
		if err != nil {
			s.log.Warn("radius: reading groups for the web filter", "user", a.Session.Username, "err", err)
		}
		for _, g := range gs {
			groups = append(groups, g.Name)
		}
	}
	sort.Strings(groups)
	a.Groups = groups
	// The policy the access point was told: its school's first.
	a.Policy, _ = s.policies.ForSchool(s.clients.Load().schoolOf(a.Session.NASName), groups)
	// An exception approved for the person: the filter hears what the
	// access point was told.
	if ex, ok := directory.NetworkException(approvals, now); ok {
		if ex.VLAN != "" {
			a.Policy.VLAN = ex.VLAN
		}
		if ex.FilterID != "" {
			a.Policy.FilterID = ex.FilterID
		}
	}
}
