package radius

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/vendors/microsoft"
)

// Refusals are logged one line each with the reason, as FreeRADIUS does
// with auth = yes, so that a technician setting up an access point can
// read why it was refused: a dropped packet (unknown client, wrong shared
// secret, Message-Authenticator missing or wrong) or a reject (unknown
// user, wrong password, no Wi-Fi credential). The lines are limited per
// source address so that a misconfigured NAS or a flood cannot fill the
// log: refusalBurst lines a source each refusalWindow, then one line
// saying how many were left out. Secrets and passwords are never logged.
const (
	refusalBurst   = 10
	refusalWindow  = time.Minute
	refusalSources = 4096 // sources tracked at once; beyond, they share one allowance
)

// refusalLog limits refusal lines per source address.
type refusalLog struct {
	mu      sync.Mutex
	sources map[netip.Addr]*refusalCount
}

type refusalCount struct {
	start   time.Time
	logged  int
	skipped int
}

func newRefusalLog() *refusalLog { return &refusalLog{sources: make(map[netip.Addr]*refusalCount)} }

// allow reports whether a refusal from src may be logged at now, and how
// many refusals from it were left out in its window that has just ended.
func (l *refusalLog) allow(src netip.Addr, now time.Time) (ok bool, skipped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.sources[src]
	if c == nil {
		if len(l.sources) >= refusalSources {
			for a, x := range l.sources {
				if now.Sub(x.start) >= refusalWindow && x.skipped == 0 {
					delete(l.sources, a)
				}
			}
			if len(l.sources) >= refusalSources {
				src = netip.Addr{} // all new sources share the zero address's allowance
				c = l.sources[src]
			}
		}
		if c == nil {
			c = &refusalCount{start: now}
			l.sources[src] = c
		}
	}
	if now.Sub(c.start) >= refusalWindow {
		skipped = c.skipped
		c.start, c.logged, c.skipped = now, 0, 0
	}
	if c.logged >= refusalBurst {
		c.skipped++
		return false, skipped
	}
	c.logged++
	return true, skipped
}

// logRefusal logs one refusal from src, at Warn for a dropped packet (the
// NAS is misconfigured) and at Info for a reject (a person's sign-in).
func (s *Server) logRefusal(ctx context.Context, level slog.Level, src netip.AddrPort, msg, reason string, attrs ...any) {
	ok, skipped := s.refusals.allow(src.Addr(), s.d.Now())
	if skipped > 0 {
		s.log.Warn("radius: more refusals from this address were not logged", "from", src.Addr().String(), "count", skipped)
	}
	if !ok {
		return
	}
	s.log.Log(ctx, level, msg, append([]any{"reason", reason, "from", src.String()}, attrs...)...)
}

// msgAuthReason says what a technician should check for a
// Message-Authenticator that does not verify.
func msgAuthReason(err error) string {
	switch {
	case errors.Is(err, ErrNoMsgAuth):
		return "Message-Authenticator missing: Keystage requires it on every Access-Request (RFC 3579, BlastRADIUS); turn it on in the NAS's RADIUS settings"
	case errors.Is(err, ErrBadMsgAuth):
		return "Message-Authenticator wrong: the shared secret on the NAS is not the one given to keystage nas add"
	}
	return "Message-Authenticator malformed: " + err.Error()
}

// logReject logs an Access-Reject of a PAP, CHAP or MS-CHAP request, as
// FreeRADIUS's "Login incorrect (reason): [user] (from client NAS …)".
func (s *Server) logReject(ctx context.Context, src netip.AddrPort, c *client, m method, user, device, reason string) {
	s.logRefusal(ctx, slog.LevelInfo, src, "radius: Login incorrect", reason,
		"user", user, "method", methodNames[m], "nas", c.name, "device", device)
}

// noCredentialReason says why a request was refused before any account
// was looked up.
func noCredentialReason(m method, p *layeh.Packet, username string) string {
	switch {
	case m != methodNone && strings.Contains(username, "@"):
		return "the User-Name has a realm that is not in radius.realms"
	case m != methodNone:
		return "the User-Name is not a valid username"
	}
	if _, err := microsoft.MSCHAP2Response_Lookup(p); err == nil {
		return "malformed MS-CHAPv2 attributes (MS-CHAP-Challenge must be 16 bytes, MS-CHAP2-Response 50)"
	}
	if _, err := microsoft.MSCHAPResponse_Lookup(p); err == nil {
		return "malformed MS-CHAP attributes (MS-CHAP-Challenge must be 8 bytes, MS-CHAP-Response 50 with the NT-Response flag set)"
	}
	return "no User-Password, CHAP-Password, MS-CHAP or EAP-Message in the request"
}

// wrongCredentialReason says why a known account's credential failed,
// without a word about the credential itself.
func wrongCredentialReason(e *entry) string {
	if len(e.ntHash) != 16 {
		return "the account has no Wi-Fi credential in force: issue one in the portal or with keystage wifi issue"
	}
	return "wrong Wi-Fi password"
}
