package eap

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"unicode/utf8"

	"keystage.dev/keystage/radius/eap/wire"
)

// MS-CHAPv2 failure codes (RFC 2759 section 6).
const (
	errAuthFailure  = 691 // wrong name or password
	errNoDialinPerm = 649 // the gate refused
)

// lookup fetches the inner identity's credential. An unknown name carries on
// with no credential so that it costs what a wrong password costs.
func (s *Server) lookup(ctx context.Context, c *conversation, name []byte) *Result {
	if len(name) == 0 || len(name) > 253 || !utf8.Valid(name) {
		return c.rejectp("the inner identity is missing or not valid: set the username on the device")
	}
	c.user = mschapUser(string(name))
	secret, err := s.backend.WiFiSecret(ctx, c.user)
	switch {
	case errors.Is(err, ErrUnknownUser):
		c.known = false
	case err != nil:
		s.log.Error("eap credential lookup", "user", c.user, "err", err)
		return c.rejectp("the sign-in service cannot reach the directory: try again shortly")
	default:
		c.secret, c.known = secret, true
	}
	return nil
}

// msgBadCredentials is the Reply-Message for a wrong inner credential, the
// same words as for PAP.
const msgBadCredentials = "Wrong username or Wi-Fi password (your Wi-Fi password is not your login password: see the portal)."

// verifyMSCHAPv2 checks an NT-Response against the credential and then the
// gate. It returns the authenticator response, or the MS-CHAPv2 error code
// with c.reason set.
func (s *Server) verifyMSCHAPv2(ctx context.Context, c *conversation, peerChallenge, ntResponse []byte, name string) (string, int) {
	authResp, good := checkMSCHAPv2(c.secret.ntHash(), c.challenge[:], peerChallenge, ntResponse, name)
	if !good || !c.known {
		s.backend.Failed(ctx, c.user)
		c.reason = msgBadCredentials
		return "", errAuthFailure
	}
	if err := s.backend.Authorize(ctx, c.user); err != nil {
		c.reason = err.Error()
		return "", errNoDialinPerm
	}
	return authResp, 0
}

// peap runs the inner method of PEAPv0: EAP-MSCHAPv2 carried without the EAP
// header, then the Result TLV, which keeps its header.
func (s *Server) peap(ctx context.Context, c *conversation, plain []byte) ([]byte, *Result) {
	switch c.inner {
	case innerBegin:
		c.inner = peapIdentitySent
		return []byte{wire.TypeIdentity}, nil

	case peapIdentitySent:
		if len(plain) < 1 || plain[0] != wire.TypeIdentity {
			return nil, c.rejectp("expected the inner identity")
		}
		if r := s.lookup(ctx, c, plain[1:]); r != nil {
			return nil, r
		}
		rand.Read(c.challenge[:])
		c.inner = peapChallengeSent
		c.msid = c.reqID + 1
		m := wire.MSCHAPv2{OpCode: wire.MSCHAPv2Challenge, ID: c.msid, Value: c.challenge[:], Name: []byte(s.cfg.ServerName)}
		return append([]byte{wire.TypeMSCHAPv2}, m.Marshal()...), nil

	case peapChallengeSent:
		if len(plain) >= 1 && plain[0] == wire.TypeNak {
			return nil, c.rejectp("the device asked for an inner method other than MSCHAPv2: set PEAP's phase 2 to MSCHAPv2")
		}
		if len(plain) < 1 || plain[0] != wire.TypeMSCHAPv2 {
			return nil, c.rejectp("expected an MSCHAPv2 response")
		}
		m, err := wire.ParseMSCHAPv2(plain[1:])
		if err != nil || m.OpCode != wire.MSCHAPv2Response || m.ID != c.msid {
			return nil, c.rejectp("malformed MSCHAPv2 response")
		}
		peerChallenge, ntResponse, err := wire.MSCHAPv2ResponseValue(m.Value)
		if err != nil {
			return nil, c.rejectp("malformed MSCHAPv2 response")
		}
		authResp, code := s.verifyMSCHAPv2(ctx, c, peerChallenge, ntResponse, string(m.Name))
		c.msid = c.reqID + 1
		reply := wire.MSCHAPv2{ID: c.msid}
		if code != 0 {
			var fresh [16]byte
			rand.Read(fresh[:])
			c.inner = peapFailureSent
			reply.OpCode = wire.MSCHAPv2Failure
			reply.Name = fmt.Appendf(nil, "E=%d R=0 C=%X V=3 M=%s", code, fresh[:], c.reason)
		} else {
			c.inner = peapSuccessSent
			reply.OpCode = wire.MSCHAPv2Success
			reply.Name = []byte(authResp)
		}
		return append([]byte{wire.TypeMSCHAPv2}, reply.Marshal()...), nil

	case peapSuccessSent, peapFailureSent:
		if len(plain) < 2 || plain[0] != wire.TypeMSCHAPv2 {
			return nil, c.rejectp("expected the MSCHAPv2 acknowledgement")
		}
		c.ok = c.inner == peapSuccessSent && plain[1] == wire.MSCHAPv2Success
		status := wire.ResultFailure
		if c.ok {
			status = wire.ResultSuccess
		}
		c.inner = peapResultSent
		tlv := wire.Packet{Code: wire.CodeRequest, ID: c.reqID + 1, Type: wire.TypeTLV, Data: wire.ResultTLV(status)}
		return tlv.Marshal(), nil

	case peapResultSent:
		p, err := wire.Parse(plain)
		if err != nil || p.Code != wire.CodeResponse || p.Type != wire.TypeTLV {
			return nil, c.rejectp("expected the PEAP result")
		}
		status, err := wire.ParseResultTLV(p.Data)
		if err == nil && c.ok && status == wire.ResultSuccess {
			return nil, s.accept(c)
		}
		if c.reason == "" {
			c.reason = "the device ended PEAP with a failure"
		}
		return nil, c.rejectp(c.reason)
	}
	return nil, c.rejectp("unexpected PEAP state")
}

// ttls runs the inner method of EAP-TTLS: PAP or MSCHAPv2 in Diameter AVPs.
func (s *Server) ttls(ctx context.Context, c *conversation, plain []byte) ([]byte, *Result) {
	switch c.inner {
	case innerBegin:
		if len(plain) == 0 {
			return nil, nil // ask the peer to go on and send its AVPs
		}
		avps, err := wire.ParseAVPs(plain)
		if err != nil {
			return nil, c.rejectp("malformed TTLS attributes")
		}
		var user, password, challenge, response []byte
		for _, a := range avps {
			vendor := uint32(0)
			if a.Flags&wire.AVPVendor != 0 {
				vendor = a.Vendor
			}
			switch {
			case vendor == 0 && a.Code == wire.AVPUserName:
				user = a.Data
			case vendor == 0 && a.Code == wire.AVPUserPassword:
				password = a.Data
			case vendor == wire.VendorMicrosoft && a.Code == wire.AVPMSCHAPChallenge:
				challenge = a.Data
			case vendor == wire.VendorMicrosoft && a.Code == wire.AVPMSCHAP2Response:
				response = a.Data
			case vendor == 0 && a.Code == wire.AVPEAPMessage:
				return nil, c.rejectp("EAP inside TTLS is not offered: set TTLS's phase 2 to PAP or MSCHAPv2")
			case a.Flags&wire.AVPMandatory != 0:
				return nil, c.rejectp(fmt.Sprintf("unsupported mandatory TTLS attribute %d (vendor %d)", a.Code, vendor))
			}
		}
		if r := s.lookup(ctx, c, user); r != nil {
			return nil, r
		}
		switch {
		case password != nil:
			return nil, s.ttlsPAP(ctx, c, password)
		case challenge != nil && response != nil:
			return s.ttlsMSCHAPv2(ctx, c, challenge, response)
		}
		return nil, c.rejectp("no PAP or MSCHAPv2 credentials in the tunnel: set TTLS's phase 2 to PAP or MSCHAPv2")

	case ttlsSuccessSent:
		// The peer acknowledges MS-CHAP2-Success with an empty message.
		return nil, s.accept(c)
	}
	return nil, c.rejectp("unexpected TTLS state")
}

func (s *Server) ttlsPAP(ctx context.Context, c *conversation, password []byte) *Result {
	// RFC 5281 section 11.2.5: padded with NULs to a multiple of 16.
	password = bytes.TrimRight(password, "\x00")
	want := []byte(c.secret.Password)
	good := c.known && len(want) > 0 && subtle.ConstantTimeCompare(password, want) == 1
	if !good {
		s.backend.Failed(ctx, c.user)
		return c.rejectp(msgBadCredentials)
	}
	if err := s.backend.Authorize(ctx, c.user); err != nil {
		return c.rejectp(err.Error())
	}
	return s.accept(c)
}

func (s *Server) ttlsMSCHAPv2(ctx context.Context, c *conversation, challenge, response []byte) ([]byte, *Result) {
	// RFC 5281 section 11.2.4: the challenge and its identifier come from
	// the tunnel's keying material, so the peer cannot pick them.
	cs := c.tun.Load().ConnectionState()
	km, err := cs.ExportKeyingMaterial(labelTTLSChallenge, nil, 17)
	if err != nil {
		return nil, c.rejectp("the device's TLS lacks Extended Master Secret (RFC 7627): update the device")
	}
	if len(challenge) != 16 || subtle.ConstantTimeCompare(challenge, km[:16]) != 1 {
		return nil, c.rejectp("the MSCHAPv2 challenge does not come from this tunnel")
	}
	// MS-CHAP2-Response (RFC 2548 section 2.3.2): Ident, Flags,
	// Peer-Challenge (16), Reserved (8), Response (24).
	if len(response) != 50 || response[0] != km[16] {
		return nil, c.rejectp("malformed MSCHAPv2 response")
	}
	copy(c.challenge[:], challenge)
	authResp, code := s.verifyMSCHAPv2(ctx, c, response[2:18], response[26:50], c.user)
	if code != 0 {
		return nil, c.rejectp(c.reason)
	}
	c.inner = ttlsSuccessSent
	data := append([]byte{response[0]}, authResp...)
	avp := wire.AVP{Code: wire.AVPMSCHAP2Success, Flags: wire.AVPVendor | wire.AVPMandatory, Vendor: wire.VendorMicrosoft, Data: data}
	return wire.AppendAVP(nil, avp), nil
}
