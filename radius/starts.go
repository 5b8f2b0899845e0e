package radius

import (
	"context"
	"errors"

	"keystage.dev/keystage/directory"
)

// A suspension that starts later changes nothing when it is made, so the
// audit trail says nothing at its start. The server therefore keeps the
// starts still to come (read from the store when it begins serving and
// again whenever the trail names an account) and, on each audit poll,
// rechecks the accounts whose suspension has begun: their live sessions
// end within AuditPoll of the start, on every node.

// loadStarts reads the suspensions that start after the last instant
// dueStarts handled: those that began since are kept for it, so that a
// reload cannot skip a start.
func (s *Server) loadStarts(ctx context.Context) {
	up, err := s.store.UpcomingSuspensions(ctx, s.startsDone)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("radius: reading suspensions to come", "err", err)
		}
		return
	}
	s.starts = up
}

// dueStarts rechecks the accounts whose suspension has started since the
// last call.
func (s *Server) dueStarts(ctx context.Context) {
	now := s.d.Now()
	s.startsDone = now
	n := 0
	for n < len(s.starts) && !now.Before(s.starts[n].From) {
		n++
	}
	if n == 0 {
		return
	}
	due := s.starts[:n]
	s.starts = s.starts[n:]
	seen := map[int64]bool{}
	for _, x := range due {
		if seen[x.AccountID] {
			continue
		}
		seen[x.AccountID] = true
		a, err := s.store.Account(ctx, x.AccountID)
		if errors.Is(err, directory.ErrNotFound) {
			continue
		}
		if err != nil {
			s.log.Warn("radius: suspension starting", "account_id", x.AccountID, "err", err)
			continue
		}
		s.recheckAccount(ctx, a)
	}
}
