package ldapserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"keystage.dev/keystage/directory"
)

// What a connection or a search refused before it began is counted as,
// under op "connect" or "search" in keystage_requests_total.
const (
	refusedTooManyConns    = "too_many_connections"
	refusedTooManyFromAddr = "too_many_from_address"
	refusedBusy            = "busy"
)

// sourceKey is what connections are counted per: the client's address,
// or for IPv6 its /64, since one machine may use any address in its
// network's /64 (privacy addresses) and must not multiply its share by
// taking more of them.
func sourceKey(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p
	}
	return netip.PrefixFrom(ip, 32)
}

// admitLocked counts a new connection in, or says why it is refused: the
// server's total and each source's share are bounded, so that one pupil's
// laptop cannot hold every connection (and the memory and goroutine each
// costs) while the school's desktops need them. The caller holds s.mu.
func (s *Server) admitLocked(src netip.Prefix) (refusal string) {
	switch {
	case len(s.conns) >= s.cfg.MaxConns:
		return refusedTooManyConns
	case s.perSource[src] >= s.cfg.MaxConnsPerAddr:
		return refusedTooManyFromAddr
	}
	s.perSource[src]++
	return ""
}

// releaseLocked counts a connection out. The caller holds s.mu.
func (s *Server) releaseLocked(src netip.Prefix) {
	if s.perSource[src] <= 1 {
		delete(s.perSource, src)
		return
	}
	s.perSource[src]--
}

// refuse tells a refused client why (a Notice of Disconnection, on plain
// LDAP only: on LDAPS it would first need a handshake the server has just
// declined to spend) and closes the connection, without waiting on a
// client that does not read.
func (s *Server) refuse(nc net.Conn, implicitTLS bool, reason string) {
	began := time.Now()
	if !implicitTLS {
		diag := "too many connections to this server: try again shortly"
		if reason == refusedTooManyFromAddr {
			diag = "too many connections from your address: close some and try again"
		}
		p := result(appExtendedResponse, resultBusy, "", diag)
		p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, oidNoticeOfDisconnection, "responseName"))
		nc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		nc.Write(envelope(0, p))
	}
	// Counted before the close, so that a client that sees the close
	// finds the refusal counted.
	s.dir.ObserveSince(began, directory.ServiceLDAP, "connect", reason, directory.ReasonNone)
	nc.Close()
	s.mu.Lock()
	warn := time.Since(s.lastRefusalLog) > time.Minute
	if warn {
		s.lastRefusalLog = time.Now()
	}
	s.mu.Unlock()
	if warn {
		s.log.Warn("ldap connection refused (logged at most once a minute; keystage_requests_total{op=\"connect\"} counts them all)",
			"client", sourceKey(nc.RemoteAddr()).String(), "reason", reason,
			"max_connections", s.cfg.MaxConns, "max_connections_per_address", s.cfg.MaxConnsPerAddr)
	}
}

// sourceSlots are the places for the searches of one source address.
type sourceSlots struct {
	ch    chan struct{}
	users int // searches holding or waiting for a place; at 0 it is forgotten
}

// searchSlot waits for a place among the searches the server, and this
// connection's source address, may run at once, and returns its release.
// The share is per address, not per connection, so that opening more
// connections gains a client nothing. Binds never wait here: however many
// searches are queued, a person signing in is served at once. It gives up
// when ctx ends (false).
func (c *conn) searchSlot(ctx context.Context) (release func(), ok bool) {
	s := c.s
	s.mu.Lock()
	src := s.searchSources[c.src]
	if src == nil {
		src = &sourceSlots{ch: make(chan struct{}, s.cfg.MaxSearchesPerAddr)}
		s.searchSources[c.src] = src
	}
	src.users++
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		if src.users--; src.users == 0 {
			delete(s.searchSources, c.src)
		}
		s.mu.Unlock()
	}
	select {
	case src.ch <- struct{}{}:
	case <-ctx.Done():
		forget()
		return nil, false
	}
	select {
	case s.searches <- struct{}{}:
	case <-ctx.Done():
		<-src.ch
		forget()
		return nil, false
	}
	return func() { <-s.searches; <-src.ch; forget() }, true
}

// maxElements bounds the BER elements of one message: what the largest
// filter allowed takes (an assertion is at most four elements a part,
// counting a substring's parts) and room for everything else a search
// carries (attributes, controls).
func (s *Server) maxElements() int { return 4*s.cfg.MaxFilterTerms + 512 }

// filterTooComplex is the diagnostic of a search refused for its filter.
func (s *Server) filterTooComplex() string {
	return fmt.Sprintf("the filter has more than %d parts, more than this server accepts: split the search into smaller ones", s.cfg.MaxFilterTerms)
}
