package radius

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3576"
)

// AccessEnded is the hook for Directory.AccessEnded: after an account is
// disabled or suspended it forgets the cached facts at once and, in the
// background, asks the NAS of each of the account's live sessions to end it.
func (s *Server) AccessEnded(ctx context.Context, a directory.Account) {
	s.facts.drop(a.Username)
	s.endingMu.Lock()
	if s.ending[a.Username] {
		// Already under way (the hook and the audit trail both tell).
		s.endingMu.Unlock()
		return
	}
	s.ending[a.Username] = true
	s.endingMu.Unlock()
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer func() {
			s.endingMu.Lock()
			delete(s.ending, a.Username)
			s.endingMu.Unlock()
		}()
		// Detached from the caller: its request may end before the NAS
		// answers, and the answer must still be recorded.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := s.Disconnect(dctx, a); err != nil {
			s.log.Error("radius: disconnecting sessions", "user", a.Username, "err", err)
		}
	}()
}

// WaitDisconnects waits for the disconnects that AccessEnded started.
func (s *Server) WaitDisconnects() { s.bg.Wait() }

// DisconnectResult is the NAS's answer for one session.
type DisconnectResult struct {
	NAS        string `json:"nas"`
	NASAddress string `json:"nas_address"`
	SessionID  string `json:"session_id"`
	// Result is "ack", "nak", "no-answer" or "no-client" (the session's NAS
	// is no longer a client, so there is no secret to sign with).
	Result     string `json:"result"`
	ErrorCause string `json:"error_cause,omitempty"`
}

// Disconnect sends a Disconnect-Request (RFC 5176) for each live session of
// an account and records each answer in the audit trail.
func (s *Server) Disconnect(ctx context.Context, a directory.Account) ([]DisconnectResult, error) {
	sessions, err := s.store.Sessions(ctx, a.ID, time.Time{}, true)
	if err != nil {
		return nil, err
	}
	var out []DisconnectResult
	for _, x := range sessions {
		r := s.disconnectOne(ctx, a, x)
		s.forwardStop(ctx, x, r)
		if r.Result == "ack" {
			// The NAS sends its Stop too; this marks it now in case it
			// does not.
			x.StoppedAt, x.UpdatedAt, x.TerminateCause = s.d.Now(), s.d.Now(), "Admin-Reset"
			if err := s.store.PutSession(ctx, &x); err != nil {
				s.log.Warn("radius: closing disconnected session", "session", x.SessionID, "err", err)
			}
		}
		err := s.d.RecordEvent(ctx, "radius", audit.ActionRADIUSDisconnect, audit.AccountTarget(a.Username), nil, r)
		if err != nil {
			return out, fmt.Errorf("radius: recording disconnect of %s: %w", a.Username, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Server) disconnectOne(ctx context.Context, a directory.Account, x directory.Session) DisconnectResult {
	r := DisconnectResult{NAS: x.NASName, NASAddress: x.NASAddress, SessionID: x.SessionID}
	addr, err := netip.ParseAddr(x.NASAddress)
	var c *client
	if err == nil {
		c = s.clients.Load().lookup(addr)
	}
	if c == nil {
		r.Result = "no-client"
		return r
	}
	r.NAS = c.name
	p := layeh.New(layeh.CodeDisconnectRequest, c.secret)
	rfc2865.UserName_SetString(p, x.Username)
	rfc2866.AcctSessionID_SetString(p, x.SessionID)
	if x.CallingStation != "" {
		rfc2865.CallingStationID_SetString(p, x.CallingStation)
	}
	// Many NASes match the session by its NAS address as well.
	if addr.Is4() {
		rfc2865.NASIPAddress_Set(p, addr.AsSlice())
	}
	rfc2869.EventTimestamp_Set(p, s.d.Now())
	req, err := encodeRequest(p, c.secret)
	if err != nil {
		r.Result, r.ErrorCause = "no-answer", err.Error()
		return r
	}
	s.count.disconnectSent.Add(1)
	resp, err := exchange(ctx, netip.AddrPortFrom(addr, uint16(c.coaPort)), req, c.secret, s.cfg.DisconnectTimeout, s.cfg.DisconnectTries)
	if err != nil {
		s.count.disconnectNo.Add(1)
		r.Result, r.ErrorCause = "no-answer", err.Error()
		return r
	}
	switch layeh.Code(resp[0]) {
	case layeh.CodeDisconnectACK:
		s.count.disconnectACK.Add(1)
		r.Result = "ack"
	default:
		s.count.disconnectNAK.Add(1)
		r.Result = "nak"
		if q, err := layeh.Parse(resp, c.secret); err == nil {
			if ec, err := rfc3576.ErrorCause_Lookup(q); err == nil {
				r.ErrorCause = ec.String()
			}
		}
	}
	return r
}

var errNoAnswer = errors.New("no answer")

// exchange sends a request and waits for its authentic reply, resending
// the same bytes (so that the NAS can spot the duplicate) up to tries times.
func exchange(ctx context.Context, to netip.AddrPort, req, secret []byte, timeout time.Duration, tries int) ([]byte, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	buf := make([]byte, layeh.MaxPacketLength)
	for i := 0; i < tries; i++ {
		if _, err := conn.Write(req); err != nil {
			return nil, err
		}
		deadline := time.Now().Add(timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		conn.SetReadDeadline(deadline)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				break
			}
			resp := buf[:n]
			if n < headerLen || resp[1] != req[1] {
				continue
			}
			switch layeh.Code(resp[0]) {
			case layeh.CodeDisconnectACK, layeh.CodeDisconnectNAK, layeh.CodeCoAACK, layeh.CodeCoANAK:
			default:
				continue
			}
			if l := int(resp[2])<<8 | int(resp[3]); l < headerLen || l > n {
				continue
			} else {
				resp = resp[:l]
			}
			if checkResponse(resp, req, secret) != nil {
				continue
			}
			return append([]byte(nil), resp...), nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, fmt.Errorf("%w from %s after %d tries", errNoAnswer, to, tries)
}

// DisconnectPort says where a NAS address takes Disconnect-Request, for
// `keystage nas list`.
func DisconnectPort(n directory.NASClient) string {
	if n.CoAPort == 0 {
		return strconv.Itoa(DefaultCoAPort)
	}
	return strconv.Itoa(n.CoAPort)
}
