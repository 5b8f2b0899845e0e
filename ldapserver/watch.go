package ldapserver

import (
	"context"
	"errors"

	"keystage.dev/keystage/directory"
)

// A bind is checked against the store every time, so nothing about an
// account is cached between binds. A connection, though, stays bound as
// whoever bound it for as long as it is open, and an application holds
// its connection for hours: without more, a service account disabled (or
// a person suspended) would keep reading through the connection it had.
// So the server follows the store's change notifications (on PostgreSQL,
// from every node) and ends the connections of an account that the gate
// now refuses: each is unbound at once, sent a Notice of Disconnection
// (RFC 4511 section 4.4.1) that says why, and closed. The application
// connects again and its bind is checked afresh. When the notifications
// were interrupted (the database was away) the store says so once they
// are back, and every bound connection is checked.

// watchStore asks the store to tell of commits, if it can; it runs once
// per Server.
func (s *Server) watchStore(ctx context.Context) {
	_, err := s.dir.WatchChanges(ctx, func(c directory.Changes) {
		if conns := s.boundTo(c.Accounts, c.All); len(conns) > 0 {
			// The recheck reads the store: off the watcher's goroutine.
			go s.recheck(ctx, conns)
		}
	})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("ldap: the store cannot tell of changes; bound connections keep their identity until they rebind", "err", err)
	}
}

// boundTo lists the connections bound as one of the accounts named, or
// every bound connection when all is set.
func (s *Server) boundTo(names []string, all bool) []*conn {
	named := make(map[string]bool, len(names))
	for _, n := range names {
		named[n] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*conn
	for c := range s.conns {
		id := c.identity()
		if !id.anonymous() && (all || named[id.account.Username]) {
			out = append(out, c)
		}
	}
	return out
}

// recheck unbinds each connection whose account the gate now refuses. An
// application holds many connections bound as one service account: each
// account is read and asked about once, however many connections it has.
func (s *Server) recheck(ctx context.Context, conns []*conn) {
	refusedByID := map[int64]bool{}
	for _, c := range conns {
		id := c.identity()
		if id.anonymous() {
			continue
		}
		refused, known := refusedByID[id.account.ID]
		if !known {
			var ok bool
			if refused, ok = s.refused(ctx, id.account); !ok {
				continue
			}
			refusedByID[id.account.ID] = refused
		}
		if refused && c.unbindIf(id) {
			// strongerAuthRequired is the notice's code for a security
			// association that no longer holds.
			c.disconnect(resultStrongerAuthRequired, "access for "+id.account.Username+" has ended (disabled, suspended or removed): connect again and bind as an account that has access")
			c.close()
			s.log.Info("ldap: access ended elsewhere, connection closed with a notice of disconnection", "user", id.account.Username, "addr", c.remoteAddr())
		}
	}
}

// refused reports whether the gate now refuses account bound (gone counts
// as refused); ok is false when the store or the gate could not say.
func (s *Server) refused(ctx context.Context, bound directory.Account) (refused, ok bool) {
	a, err := s.store.Account(ctx, bound.ID)
	if errors.Is(err, directory.ErrNotFound) {
		return true, true
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("ldap: re-checking a bound account", "user", bound.Username, "err", err)
		}
		return false, false
	}
	dec, err := s.dir.Gate().Check(ctx, a, directory.ServiceLDAP, s.dir.Now())
	if err != nil {
		return false, false
	}
	return !dec.Allow, true
}

// unbindIf makes the connection anonymous if it is still bound as id (it
// may have rebound as someone else meanwhile).
func (c *conn) unbindIf(id identity) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bound.dn != id.dn || c.bound.account.ID != id.account.ID {
		return false
	}
	c.bound = identity{}
	return true
}
