package radius

import (
	"context"
	"errors"
	"strings"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// Changes made in another process (a CLI command, a job) or on another node
// never reach this server's Directory.AccessEnded hook. The audit trail
// does: every change to an account is recorded there, targeting
// "account:NAME", in the same transaction. So the server follows the trail:
// for each account an event names it forgets the cached facts and, when
// the gate now refuses the account, disconnects its live sessions. A
// disable or suspension made anywhere thus ends Wi-Fi sessions within
// AuditPoll.
//
// A store that is a directory.Watcher (PostgreSQL's LISTEN/NOTIFY) tells
// of each commit on any node as it happens; the server then reads the trail
// at once instead of at the next tick. The tick stays: it covers a
// notification lost while the listening connection was re-made, and
// stores that tell only of their own process's commits.

// watchStore asks the store to tell of commits, if it can: a change to an
// account makes the server read the trail at once, a change to a NAS
// client reload the clients (a NAS added on one node answers on every
// node at once, not at the next ClientRefresh).
func (s *Server) watchStore(ctx context.Context) {
	_, err := s.d.WatchChanges(ctx, func(c directory.Changes) {
		if len(c.Accounts) > 0 || c.All {
			nudge(s.nudge)
		}
		if c.NAS || c.All {
			nudge(s.reloadNudge)
		}
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("radius: the store cannot tell of changes; reading the audit trail on a timer only", "every", s.cfg.AuditPoll, "err", err)
	}
}

// nudge asks the housekeeping loop for something unless it is already due.
func nudge(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// followTrail acts on the events after *seq and, when one added or lifted
// a suspension, reloads the suspensions still to start.
func (s *Server) followTrail(ctx context.Context, seq *int64) {
	if s.watchAudit(ctx, seq) {
		s.loadStarts(ctx)
	}
}

// watchAudit reads the events after *seq and acts on them. It reports
// whether any added or lifted a suspension.
func (s *Server) watchAudit(ctx context.Context, seq *int64) bool {
	suspensions := false
	for {
		evs, err := s.store.AuditEvents(ctx, *seq, 500)
		if err != nil {
			// Once per failing spell, not at every tick: while the
			// database is away the log says so once (the database
			// monitor), not every AuditPoll.
			if ctx.Err() == nil && !s.trailFailing {
				s.trailFailing = true
				s.log.Warn("radius: cannot read the audit trail; changes made on other nodes reach this node late until it can", "err", err)
			}
			return suspensions
		}
		if s.trailFailing {
			s.trailFailing = false
			s.log.Info("radius: reading the audit trail again")
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			*seq = ev.Seq
			if ev.Action == audit.ActionSuspensionAdd || ev.Action == audit.ActionSuspensionLift {
				suspensions = true
			}
			if ev.Action == audit.ActionNetworkApprove || ev.Action == audit.ActionNetworkImport {
				// A decision on the filtering: the mapping in force
				// changes on every node within AuditPoll.
				if err := s.policies.Reload(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("radius: reloading the network policies; those read before stay in force", "err", err)
				}
			}
			name, ok := audit.TargetName(ev.Target, audit.KindAccount)
			if !ok || seen[name] || strings.HasPrefix(string(ev.Action), "radius.") {
				continue
			}
			seen[name] = true
			s.facts.drop(name) // also when the account is gone
			s.recheck(ctx, name)
		}
		if len(evs) < 500 {
			return suspensions
		}
	}
}

// recheck disconnects an account's live sessions when the gate now refuses
// it the Wi-Fi.
func (s *Server) recheck(ctx context.Context, username string) {
	a, err := s.store.AccountByUsername(ctx, username)
	if errors.Is(err, directory.ErrNotFound) {
		return
	}
	if err != nil {
		s.log.Warn("radius: re-checking account", "user", username, "err", err)
		return
	}
	s.recheckAccount(ctx, a)
}

// recheckAccount forgets a's cached facts and disconnects its live
// sessions when the gate now refuses it the Wi-Fi.
func (s *Server) recheckAccount(ctx context.Context, a directory.Account) {
	s.facts.drop(a.Username)
	dec, err := s.d.Gate().Check(ctx, a, directory.ServiceWiFi, s.d.Now())
	if err != nil || dec.Allow {
		return
	}
	live, err := s.store.Sessions(ctx, a.ID, zeroTime, true)
	if err != nil || len(live) == 0 {
		return
	}
	s.log.Info("radius: access ended elsewhere, disconnecting", "user", a.Username, "reason", string(dec.Reason), "sessions", len(live))
	s.AccessEnded(ctx, a)
}
