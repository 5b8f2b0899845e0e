package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// Ways a packet is malformed or unauthentic. The server drops such packets
// silently (RFC 2865) and counts them.
var (
	ErrShort         = errors.New("radius: packet shorter than its header")
	ErrLength        = errors.New("radius: length field disagrees with the datagram")
	ErrAttributes    = errors.New("radius: malformed attributes")
	ErrNoMsgAuth     = errors.New("radius: Message-Authenticator missing")
	ErrBadMsgAuth    = errors.New("radius: Message-Authenticator wrong")
	ErrBadAuthentic  = errors.New("radius: Request Authenticator wrong")
	ErrCode          = errors.New("radius: unexpected packet code")
	ErrTooManyMsgAut = errors.New("radius: more than one Message-Authenticator")
)

const (
	headerLen  = 20
	msgAuthLen = 16
	// maxEAPChunk is the most one EAP-Message attribute carries.
	maxEAPChunk = 253
)

// parse checks the header and attributes of a datagram and returns the
// packet bytes (trimmed to the length field; RFC 2865 says octets beyond it
// are padding to ignore) and the parsed packet.
func parse(b, secret []byte) ([]byte, *layeh.Packet, error) {
	if len(b) < headerLen {
		return nil, nil, ErrShort
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < headerLen || n > layeh.MaxPacketLength || n > len(b) {
		return nil, nil, ErrLength
	}
	b = b[:n]
	p, err := layeh.Parse(b, secret)
	if err != nil {
		return nil, nil, ErrAttributes
	}
	return b, p, nil
}

// msgAuthOffset finds the value of the one Message-Authenticator attribute
// in raw packet bytes (whose attributes parse has already checked). It
// returns -1 when there is none.
func msgAuthOffset(b []byte) (int, error) {
	off := -1
	for i := headerLen; i+2 <= len(b); {
		t, l := b[i], int(b[i+1])
		if l < 2 || i+l > len(b) {
			return -1, ErrAttributes
		}
		if t == byte(rfc2869.MessageAuthenticator_Type) {
			if l != 2+msgAuthLen {
				return -1, ErrBadMsgAuth
			}
			if off >= 0 {
				return -1, ErrTooManyMsgAut
			}
			off = i + 2
		}
		i += l
	}
	return off, nil
}

// checkMsgAuth verifies the Message-Authenticator of a request as received:
// HMAC-MD5 keyed with the shared secret over the packet with the
// attribute's value zeroed (RFC 3579 3.2). For Accounting-, Disconnect- and
// CoA-Requests the Request Authenticator field counts as zeros, as it is
// itself computed over the Message-Authenticator. required says whether a
// missing attribute is an error.
func checkMsgAuth(b, secret []byte, required bool) error {
	off, err := msgAuthOffset(b)
	if err != nil {
		return err
	}
	if off < 0 {
		if required {
			return ErrNoMsgAuth
		}
		return nil
	}
	var got [msgAuthLen]byte
	copy(got[:], b[off:off+msgAuthLen])
	buf := make([]byte, len(b))
	copy(buf, b)
	clear(buf[off : off+msgAuthLen])
	switch layeh.Code(b[0]) {
	case layeh.CodeAccountingRequest, layeh.CodeDisconnectRequest, layeh.CodeCoARequest:
		clear(buf[4:20])
	}
	mac := hmac.New(md5.New, secret)
	mac.Write(buf)
	if subtle.ConstantTimeCompare(mac.Sum(nil), got[:]) != 1 {
		return ErrBadMsgAuth
	}
	return nil
}

// checkRequestAuthenticator verifies the Request Authenticator of the
// requests that carry a digest in it (RFC 2866, RFC 5176).
func checkRequestAuthenticator(b, secret []byte) error {
	sum := md5.New()
	sum.Write(b[:4])
	var zero [16]byte
	sum.Write(zero[:])
	sum.Write(b[20:])
	sum.Write(secret)
	if subtle.ConstantTimeCompare(sum.Sum(nil), b[4:20]) != 1 {
		return ErrBadAuthentic
	}
	return nil
}

// encodeReply writes a reply to a request whose Request Authenticator is
// reqAuth: Message-Authenticator first (so that it cannot be pushed out of a
// forged packet's reach, CVE-2024-3596), then the other attributes, then the
// Response Authenticator over it all.
func encodeReply(p *layeh.Packet, reqAuth [16]byte, secret []byte) ([]byte, error) {
	p.Attributes.Del(rfc2869.MessageAuthenticator_Type)
	attrs := make(layeh.Attributes, 0, len(p.Attributes)+1)
	attrs = append(attrs, &layeh.AVP{Type: rfc2869.MessageAuthenticator_Type, Attribute: make(layeh.Attribute, msgAuthLen)})
	attrs = append(attrs, p.Attributes...)
	p.Attributes = attrs
	p.Authenticator = reqAuth
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	mac := hmac.New(md5.New, secret)
	if p.Code == layeh.CodeAccountingResponse {
		// FreeRADIUS, which NASes follow, takes the authenticator field
		// as zeros for an Accounting-Response's Message-Authenticator, as
		// for the Accounting-Request's.
		var zero [16]byte
		mac.Write(b[:4])
		mac.Write(zero[:])
		mac.Write(b[20:])
	} else {
		mac.Write(b)
	}
	copy(b[headerLen+2:headerLen+2+msgAuthLen], mac.Sum(nil))
	sum := md5.New()
	sum.Write(b)
	sum.Write(secret)
	copy(b[4:20], sum.Sum(nil))
	return b, nil
}

// encodeRequest writes a request that carries a digest in its Request
// Authenticator (Disconnect-Request, CoA-Request): Message-Authenticator
// first, computed with the authenticator field zero, then the digest.
func encodeRequest(p *layeh.Packet, secret []byte) ([]byte, error) {
	p.Attributes.Del(rfc2869.MessageAuthenticator_Type)
	attrs := make(layeh.Attributes, 0, len(p.Attributes)+1)
	attrs = append(attrs, &layeh.AVP{Type: rfc2869.MessageAuthenticator_Type, Attribute: make(layeh.Attribute, msgAuthLen)})
	p.Attributes = append(attrs, p.Attributes...)
	p.Authenticator = [16]byte{}
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	mac := hmac.New(md5.New, secret)
	mac.Write(b)
	copy(b[headerLen+2:headerLen+2+msgAuthLen], mac.Sum(nil))
	sum := md5.New()
	sum.Write(b)
	sum.Write(secret)
	copy(b[4:20], sum.Sum(nil))
	return b, nil
}

// checkResponse verifies a reply to a request we sent (Disconnect-ACK or
// -NAK): its Response Authenticator and, when present, its
// Message-Authenticator (computed with the Request Authenticator in place).
func checkResponse(resp, req, secret []byte) error {
	if !layeh.IsAuthenticResponse(resp, req, secret) {
		return ErrBadAuthentic
	}
	off, err := msgAuthOffset(resp)
	if err != nil || off < 0 {
		return err
	}
	buf := make([]byte, len(resp))
	copy(buf, resp)
	copy(buf[4:20], req[4:20])
	clear(buf[off : off+msgAuthLen])
	mac := hmac.New(md5.New, secret)
	mac.Write(buf)
	if subtle.ConstantTimeCompare(mac.Sum(nil), resp[off:off+msgAuthLen]) != 1 {
		return ErrBadMsgAuth
	}
	return nil
}

// eapMessage joins the EAP-Message attributes of a request, in order.
func eapMessage(p *layeh.Packet) []byte {
	var out []byte
	for _, a := range p.Attributes {
		if a.Type == rfc2869.EAPMessage_Type {
			out = append(out, a.Attribute...)
		}
	}
	return out
}

// addEAPMessage splits an EAP packet into EAP-Message attributes of at most
// 253 bytes each.
func addEAPMessage(p *layeh.Packet, msg []byte) {
	for len(msg) > 0 {
		n := min(len(msg), maxEAPChunk)
		p.Add(rfc2869.EAPMessage_Type, layeh.Attribute(append([]byte(nil), msg[:n]...)))
		msg = msg[n:]
	}
}

// replyMessage adds a Reply-Message, split where it is longer than one
// attribute holds.
func replyMessage(p *layeh.Packet, s string) {
	for len(s) > 0 {
		n := min(len(s), maxEAPChunk)
		p.Add(rfc2865.ReplyMessage_Type, layeh.Attribute(s[:n]))
		s = s[n:]
	}
}
