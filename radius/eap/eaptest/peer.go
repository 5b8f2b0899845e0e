// Package eaptest is a Go EAP peer (the supplicant's side) for PEAPv0 with
// EAP-MSCHAPv2 and EAP-TTLS with PAP or MSCHAPv2. Tests and the load tool
// use it to drive the EAP engine, and through it the RADIUS server, the way a
// phone would; it derives the MSK from its own side of the tunnel so that a
// test can compare all 64 bytes with what the server sent.
//
// It is test equipment: it trusts what its tls.Config trusts and nothing more,
// but it is not meant to join real networks.
package eaptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"layeh.com/radius/rfc2759"

	"keystage.dev/keystage/radius/eap/internal/tunnel"
	"keystage.dev/keystage/radius/eap/wire"
)

// ErrFailure is returned when the server sends EAP-Failure.
var ErrFailure = errors.New("eaptest: server sent EAP-Failure")

// Peer is one EAP authentication from the supplicant's side. Make a new Peer
// for each authentication; share TLS (with a ClientSessionCache) between
// them to resume sessions.
type Peer struct {
	Identity string // outer identity, e.g. anonymous@school
	Username string // inner identity
	Password string
	Method   uint8  // wire.TypePEAP or wire.TypeTTLS
	Inner    string // "mschapv2" (default) or "pap" (TTLS only)
	TLS      *tls.Config
	// FragmentSize is the most TLS data per response. Default 1398, as
	// wpa_supplicant.
	FragmentSize int

	// After success:
	MSK     []byte
	Resumed bool

	tun        *tunnel.Tunnel
	rx         wire.Reassembler
	tx         wire.Fragmenter
	verified   bool // the server proved it knows the credential
	resultOK   bool // PEAP Result TLV success seen
	succeeded  bool
	mschapUser []byte
	authChal   []byte
	peerChal   []byte
	ntResponse []byte
	sentAVPs   bool
}

// Succeeded reports whether the server sent EAP-Success after proving itself.
func (p *Peer) Succeeded() bool { return p.succeeded }

// Close ends the peer's tunnel.
func (p *Peer) Close() {
	if p.tun != nil {
		p.tun.Close()
	}
}

// IdentityResponse is the peer's answer to the NAS's EAP-Request/Identity.
func (p *Peer) IdentityResponse(id uint8) []byte {
	return wire.Packet{Code: wire.CodeResponse, ID: id, Type: wire.TypeIdentity, Data: []byte(p.Identity)}.Marshal()
}

// Respond answers one EAP packet from the server. On EAP-Success it returns
// nil, nil; on EAP-Failure, ErrFailure.
func (p *Peer) Respond(ctx context.Context, msg []byte) ([]byte, error) {
	req, err := wire.Parse(msg)
	if err != nil {
		return nil, err
	}
	switch req.Code {
	case wire.CodeSuccess:
		if p.MSK == nil || (!p.verified && !p.Resumed) || (p.Method == wire.TypePEAP && !p.resultOK) {
			return nil, errors.New("eaptest: EAP-Success before the server proved itself")
		}
		p.succeeded = true
		return nil, nil
	case wire.CodeFailure:
		return nil, ErrFailure
	case wire.CodeResponse:
		return nil, errors.New("eaptest: got a response")
	}
	if req.Type == wire.TypeIdentity {
		return p.IdentityResponse(req.ID), nil
	}
	if req.Type != p.Method {
		return p.response(req.ID, wire.TypeNak, []byte{p.Method}), nil
	}
	f, err := wire.ParseTLSFrame(req.Data)
	if err != nil {
		return nil, err
	}
	if f.Flags&wire.FlagStart != 0 {
		cfg := p.TLS.Clone()
		cfg.ClientSessionCache = p.TLS.ClientSessionCache
		t, hello, err := tunnel.Client(ctx, cfg, time.Minute)
		if err != nil {
			return nil, err
		}
		p.tun = t
		p.rx.Max = 1 << 16
		return p.send(req.ID, hello), nil
	}
	if p.tun == nil {
		return nil, errors.New("eaptest: TLS data before Start")
	}
	if p.tx.Pending() {
		if !f.IsAck() {
			return nil, errors.New("eaptest: expected an acknowledgement")
		}
		return p.fragment(req.ID), nil
	}
	in, complete, err := p.rx.Add(f)
	if err != nil {
		return nil, err
	}
	if !complete {
		return p.response(req.ID, p.Method, wire.TLSFrame{}.Marshal()), nil
	}
	var out []byte
	if !p.tun.Established() {
		o, done, err := p.tun.Step(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("eaptest: handshake: %w", err)
		}
		if !done {
			return p.send(req.ID, o), nil
		}
		if err := p.keys(); err != nil {
			return nil, err
		}
		out = o
		in = nil
	}
	plain, err := p.tun.ReadApp(in)
	if err != nil {
		return nil, err
	}
	reply, err := p.inner(plain)
	if err != nil {
		return nil, err
	}
	if len(reply) > 0 {
		enc, err := p.tun.WriteApp(reply)
		if err != nil {
			return nil, err
		}
		out = append(out, enc...)
	}
	return p.send(req.ID, out), nil
}

func (p *Peer) keys() error {
	cs := p.tun.ConnectionState()
	label := "client EAP encryption"
	if p.Method == wire.TypeTTLS {
		label = "ttls keying material"
	}
	msk, err := cs.ExportKeyingMaterial(label, nil, 64)
	if err != nil {
		return err
	}
	p.MSK, p.Resumed = msk, cs.DidResume
	return nil
}

func (p *Peer) response(id, typ uint8, data []byte) []byte {
	return wire.Packet{Code: wire.CodeResponse, ID: id, Type: typ, Data: data}.Marshal()
}

func (p *Peer) send(id uint8, out []byte) []byte {
	p.tx.Load(out)
	if !p.tx.Pending() {
		return p.response(id, p.Method, wire.TLSFrame{}.Marshal())
	}
	return p.fragment(id)
}

func (p *Peer) fragment(id uint8) []byte {
	size := p.FragmentSize
	if size == 0 {
		size = 1398
	}
	return p.response(id, p.Method, p.tx.Next(size, 0).Marshal())
}

func (p *Peer) inner(plain []byte) ([]byte, error) {
	if p.Method == wire.TypeTTLS {
		return p.ttls(plain)
	}
	return p.peap(plain)
}

func (p *Peer) peap(plain []byte) ([]byte, error) {
	if len(plain) == 0 {
		return nil, nil
	}
	// The Result TLV keeps its EAP header; everything else comes without.
	if pkt, err := wire.Parse(plain); err == nil && pkt.Code == wire.CodeRequest && pkt.Type == wire.TypeTLV {
		status, err := wire.ParseResultTLV(pkt.Data)
		if err != nil {
			return nil, err
		}
		p.resultOK = status == wire.ResultSuccess && p.verified
		if !p.resultOK {
			status = wire.ResultFailure
		}
		return wire.Packet{Code: wire.CodeResponse, ID: pkt.ID, Type: wire.TypeTLV, Data: wire.ResultTLV(status)}.Marshal(), nil
	}
	switch plain[0] {
	case wire.TypeIdentity:
		return append([]byte{wire.TypeIdentity}, p.Username...), nil
	case wire.TypeMSCHAPv2:
		m, err := wire.ParseMSCHAPv2(plain[1:])
		if err != nil {
			return nil, err
		}
		switch m.OpCode {
		case wire.MSCHAPv2Challenge:
			if len(m.Value) != 16 {
				return nil, errors.New("eaptest: bad challenge")
			}
			if err := p.answer(m.Value); err != nil {
				return nil, err
			}
			value := make([]byte, 0, 49)
			value = append(value, p.peerChal...)
			value = append(value, make([]byte, 8)...)
			value = append(value, p.ntResponse...)
			value = append(value, 0)
			r := wire.MSCHAPv2{OpCode: wire.MSCHAPv2Response, ID: m.ID, Value: value, Name: []byte(p.Username)}
			return append([]byte{wire.TypeMSCHAPv2}, r.Marshal()...), nil
		case wire.MSCHAPv2Success:
			if err := p.checkAuthenticator(m.Name); err != nil {
				return nil, err
			}
			return []byte{wire.TypeMSCHAPv2, wire.MSCHAPv2Success}, nil
		case wire.MSCHAPv2Failure:
			return []byte{wire.TypeMSCHAPv2, wire.MSCHAPv2Failure}, nil
		}
	}
	return nil, fmt.Errorf("eaptest: unexpected inner request % x", plain)
}

// answer computes the NT-Response to an authenticator challenge.
func (p *Peer) answer(authChal []byte) error {
	p.authChal = bytes.Clone(authChal)
	p.peerChal = make([]byte, 16)
	rand.Read(p.peerChal)
	p.mschapUser = []byte(p.Username)
	if i := bytes.LastIndexByte(p.mschapUser, '\\'); i >= 0 {
		p.mschapUser = p.mschapUser[i+1:]
	}
	nt, err := rfc2759.GenerateNTResponse(p.authChal, p.peerChal, p.mschapUser, []byte(p.Password))
	p.ntResponse = nt
	return err
}

func (p *Peer) checkAuthenticator(msg []byte) error {
	want, err := rfc2759.GenerateAuthenticatorResponse(p.authChal, p.peerChal, p.ntResponse, p.mschapUser, []byte(p.Password))
	if err != nil {
		return err
	}
	if len(msg) < 42 || string(msg[:42]) != want {
		return fmt.Errorf("eaptest: wrong authenticator response %q", msg)
	}
	p.verified = true
	return nil
}

func (p *Peer) ttls(plain []byte) ([]byte, error) {
	if !p.sentAVPs {
		p.sentAVPs = true
		return p.ttlsCredentials()
	}
	if len(plain) == 0 {
		return nil, nil
	}
	avps, err := wire.ParseAVPs(plain)
	if err != nil {
		return nil, err
	}
	for _, a := range avps {
		if a.Flags&wire.AVPVendor != 0 && a.Vendor == wire.VendorMicrosoft && a.Code == wire.AVPMSCHAP2Success {
			if len(a.Data) < 1 {
				return nil, errors.New("eaptest: empty MS-CHAP2-Success")
			}
			return nil, p.checkAuthenticator(a.Data[1:])
		}
	}
	return nil, fmt.Errorf("eaptest: unexpected TTLS attributes % x", plain)
}

func (p *Peer) ttlsCredentials() ([]byte, error) {
	b := wire.AppendAVP(nil, wire.AVP{Code: wire.AVPUserName, Flags: wire.AVPMandatory, Data: []byte(p.Username)})
	if p.Inner == "pap" {
		pw := []byte(p.Password)
		pw = append(pw, make([]byte, (16-len(pw)%16)%16)...)
		// PAP sends the password to a server proven by the certificate only.
		p.verified = true
		return wire.AppendAVP(b, wire.AVP{Code: wire.AVPUserPassword, Flags: wire.AVPMandatory, Data: pw}), nil
	}
	cs := p.tun.ConnectionState()
	km, err := cs.ExportKeyingMaterial("ttls challenge", nil, 17)
	if err != nil {
		return nil, err
	}
	if err := p.answer(km[:16]); err != nil {
		return nil, err
	}
	resp := []byte{km[16], 0}
	resp = append(resp, p.peerChal...)
	resp = append(resp, make([]byte, 8)...)
	resp = append(resp, p.ntResponse...)
	ms := wire.AVPVendor | wire.AVPMandatory
	b = wire.AppendAVP(b, wire.AVP{Code: wire.AVPMSCHAPChallenge, Flags: ms, Vendor: wire.VendorMicrosoft, Data: km[:16]})
	return wire.AppendAVP(b, wire.AVP{Code: wire.AVPMSCHAP2Response, Flags: ms, Vendor: wire.VendorMicrosoft, Data: resp}), nil
}
