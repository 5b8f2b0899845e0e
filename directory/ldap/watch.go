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
// from every node) and unbinds the connections of an account that the
// gate now refuses; their next search is anonymous and is refused with
// "bind first", and the client's rebind is checked afresh.

// watchStore asks the store to tell of commits, if it can; it runs once
// per Server.
func (s *Server) watchStore(ctx context.Context) {
	_, err := directory.WatchAccounts(ctx, s.dir.Store, func(names []string, all bool) {
		if conns := s.boundTo(names, all); len(conns) > 0 {
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

// recheck unbinds each connection whose account the gate now refuses.
func (s *Server) recheck(ctx context.Context, conns []*conn) {
	for _, c := range conns {
		id := c.identity()
		if id.anonymous() {
			continue
		}
		a, err := s.dir.Store.Account(ctx, id.account.ID)
		refused := errors.Is(err, directory.ErrNotFound)
		if err != nil && !refused {
			if ctx.Err() == nil {
				s.log.Warn("ldap: re-checking a bound account", "user", id.account.Username, "err", err)
			}
			continue
		}
		if !refused {
			dec, err := s.dir.Gate.Check(ctx, a, directory.ServiceLDAP, s.dir.Now())
			if err != nil {
				continue
			}
			refused = !dec.Allow
		}
		if refused && c.unbindIf(id) {
			s.log.Info("ldap: access ended elsewhere, connection unbound", "user", id.account.Username, "addr", c.remoteAddr())
		}
	}
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
