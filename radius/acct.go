package radius

import (
	"context"
	"errors"
	"net/netip"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

	"keystage.dev/keystage/directory"
)

// accounting records an Accounting-Request and answers it; nil drops it
// (the store failed: the NAS keeps it and retries, so nothing is lost).
func (s *Server) accounting(ctx context.Context, c *client, src netip.AddrPort, p *layeh.Packet) *layeh.Packet {
	now := s.d.Now()
	// The NAS may have held the record back for a while (Acct-Delay-Time).
	at := now.Add(-time.Duration(rfc2866.AcctDelayTime_Get(p)) * time.Second)
	nasAddr := src.Addr().String()
	switch status := rfc2866.AcctStatusType_Get(p); status {
	case rfc2866.AcctStatusType_Value_AccountingOn, rfc2866.AcctStatusType_Value_AccountingOff:
		// The NAS started or is stopping: none of its sessions lives on.
		cause := "NAS-Reboot"
		if status == rfc2866.AcctStatusType_Value_AccountingOff {
			cause = "Accounting-Off"
		}
		n, err := s.store.CloseNASSessions(ctx, nasAddr, at, cause)
		if err != nil {
			s.log.Error("radius: closing sessions", "nas", c.name, "err", err)
			s.count.internal.Add(1)
			return nil
		}
		s.log.Info("radius: NAS "+rfc2866.AcctStatusType_Strings[status], "nas", c.name, "closed", n)
		s.forward(ctx, status, directory.Session{NASName: c.name, NASAddress: nasAddr}, at)
	case rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_Stop, rfc2866.AcctStatusType_Value_InterimUpdate:
		if err := s.recordSession(ctx, c, nasAddr, p, status, at); err != nil {
			s.log.Error("radius: recording session", "nas", c.name, "err", err)
			s.count.internal.Add(1)
			return nil
		}
	default:
		// Other status types (Failed, tunnel records) are acknowledged so
		// that the NAS does not retry them forever.
	}
	return p.Response(layeh.CodeAccountingResponse)
}

func (s *Server) recordSession(ctx context.Context, c *client, nasAddr string, p *layeh.Packet, status rfc2866.AcctStatusType, at time.Time) error {
	_, username := s.splitUser(rfc2865.UserName_GetString(p))
	x := directory.Session{
		Username:       username,
		NASName:        c.name,
		NASAddress:     nasAddr,
		SessionID:      string(rfc2866.AcctSessionID_Get(p)),
		CallingStation: callingStation(p),
		CalledStation:  rfc2865.CalledStationID_GetString(p),
		UpdatedAt:      at,
		InputBytes:     int64(rfc2869.AcctInputGigawords_Get(p))<<32 | int64(rfc2866.AcctInputOctets_Get(p)),
		OutputBytes:    int64(rfc2869.AcctOutputGigawords_Get(p))<<32 | int64(rfc2866.AcctOutputOctets_Get(p)),
	}
	if ip, err := rfc2865.FramedIPAddress_Lookup(p); err == nil {
		x.FramedIP = ip.String()
	}
	// A Stop or Interim that arrives without its Start still dates the
	// session from its length.
	x.StartedAt = at.Add(-time.Duration(rfc2866.AcctSessionTime_Get(p)) * time.Second)
	if status == rfc2866.AcctStatusType_Value_Stop {
		x.StoppedAt = at
		if tc, err := rfc2866.AcctTerminateCause_Lookup(p); err == nil {
			x.TerminateCause = tc.String()
		}
	}
	if x.SessionID == "" {
		x.SessionID = "no-session-id:" + x.CallingStation
	}
	if username != "" {
		if e := s.facts.get(username, at); e != nil {
			x.AccountID = e.account.ID
		} else if a, err := s.store.AccountByUsername(ctx, username); err == nil {
			x.AccountID = a.ID
		} else if !errors.Is(err, directory.ErrNotFound) {
			return err
		}
	}
	if err := s.store.PutSession(ctx, &x); err != nil {
		return err
	}
	if x.AccountID != 0 && status != rfc2866.AcctStatusType_Value_Stop {
		s.uses.note(x.AccountID, at)
	}
	s.forward(ctx, status, x, at)
	return nil
}
