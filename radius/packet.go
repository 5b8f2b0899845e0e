package radius

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"

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
// are padding to ignore) and the parsed packet. The packet keeps nothing of
// b: its attribute values share one copy of the packet (b is a read buffer
// used again for the next datagram), and the attributes sit in one array,
// so that a request costs a few allocations rather than two an attribute.
func parse(b, secret []byte) ([]byte, *layeh.Packet, error) {
	if len(b) < headerLen {
		return nil, nil, ErrShort
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < headerLen || n > layeh.MaxPacketLength || n > len(b) {
		return nil, nil, ErrLength
	}
	b = b[:n]
	count := 0
	for i := headerLen; i < n; count++ {
		if i+2 > n {
			return nil, nil, ErrAttributes
		}
		l := int(b[i+1])
		if l < 2 || i+l > n {
			return nil, nil, ErrAttributes
		}
		i += l
	}
	own := make([]byte, n)
	copy(own, b)
	avps := make([]layeh.AVP, count)
	p := &layeh.Packet{
		Code:       layeh.Code(own[0]),
		Identifier: own[1],
		Secret:     secret,
		Attributes: make(layeh.Attributes, count),
	}
	copy(p.Authenticator[:], own[4:20])
	for i, k := headerLen, 0; i < n; k++ {
		l := int(own[i+1])
		avps[k].Type = layeh.Type(own[i])
		if l > 2 {
			// Capped, so that an append to one value cannot run into
			// the next.
			avps[k].Attribute = own[i+2 : i+l : i+l]
		}
		p.Attributes[k] = &avps[k]
		i += l
	}
	return own, p, nil
}

// signer holds the hash states of one NAS client's shared secret, so that
// a request checks and signs without keying an HMAC afresh (a keyed
// HMAC-MD5 is two MD5 states and their pads). Get one with client.signer
// and give it back with client.release; it is not for two goroutines at
// once.
type signer struct {
	secret []byte
	mac    hash.Hash // HMAC-MD5 keyed with secret
	md     hash.Hash // MD5
	sum    [md5.Size]byte
}

func newSigner(secret []byte) *signer {
	return &signer{secret: secret, mac: hmac.New(md5.New, secret), md: md5.New()}
}

// macSum is the HMAC-MD5 of what was written to s.mac, which it resets.
func (s *signer) macSum() []byte {
	out := s.mac.Sum(s.sum[:0])
	s.mac.Reset()
	return out
}

// mdSum is the MD5 of what was written to s.md, which it resets.
func (s *signer) mdSum() []byte {
	out := s.md.Sum(s.sum[:0])
	s.md.Reset()
	return out
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
func checkMsgAuth(b []byte, sg *signer, required bool) error {
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
	var zero [msgAuthLen]byte
	sg.mac.Write(b[:4])
	switch layeh.Code(b[0]) {
	case layeh.CodeAccountingRequest, layeh.CodeDisconnectRequest, layeh.CodeCoARequest:
		sg.mac.Write(zero[:])
	default:
		sg.mac.Write(b[4:headerLen])
	}
	sg.mac.Write(b[headerLen:off])
	sg.mac.Write(zero[:])
	sg.mac.Write(b[off+msgAuthLen:])
	if subtle.ConstantTimeCompare(sg.macSum(), b[off:off+msgAuthLen]) != 1 {
		return ErrBadMsgAuth
	}
	return nil
}

// checkRequestAuthenticator verifies the Request Authenticator of the
// requests that carry a digest in it (RFC 2866, RFC 5176).
func checkRequestAuthenticator(b []byte, sg *signer) error {
	sg.md.Write(b[:4])
	var zero [16]byte
	sg.md.Write(zero[:])
	sg.md.Write(b[20:])
	sg.md.Write(sg.secret)
	if subtle.ConstantTimeCompare(sg.mdSum(), b[4:20]) != 1 {
		return ErrBadAuthentic
	}
	return nil
}

// encodeReply writes a reply to a request whose Request Authenticator is
// reqAuth: Message-Authenticator first (so that it cannot be pushed out of a
// forged packet's reach, CVE-2024-3596), then the other attributes, then the
// Response Authenticator over it all.
func encodeReply(p *layeh.Packet, reqAuth [16]byte, sg *signer) ([]byte, error) {
	n := headerLen + 2 + msgAuthLen
	for _, a := range p.Attributes {
		if a.Type == rfc2869.MessageAuthenticator_Type || a.Type < 0 || a.Type > 255 {
			continue
		}
		if len(a.Attribute) > 253 {
			return nil, errors.New("radius: attribute too large")
		}
		n += 2 + len(a.Attribute)
	}
	if n > layeh.MaxPacketLength {
		return nil, errors.New("radius: packet is too large")
	}
	b := make([]byte, n)
	b[0], b[1] = byte(p.Code), p.Identifier
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
	copy(b[4:headerLen], reqAuth[:])
	b[headerLen], b[headerLen+1] = byte(rfc2869.MessageAuthenticator_Type), 2+msgAuthLen
	i := headerLen + 2 + msgAuthLen
	for _, a := range p.Attributes {
		if a.Type == rfc2869.MessageAuthenticator_Type || a.Type < 0 || a.Type > 255 {
			continue
		}
		b[i], b[i+1] = byte(a.Type), byte(2+len(a.Attribute))
		i += 2 + copy(b[i+2:], a.Attribute)
	}
	if p.Code == layeh.CodeAccountingResponse {
		// FreeRADIUS, which NASes follow, takes the authenticator field
		// as zeros for an Accounting-Response's Message-Authenticator, as
		// for the Accounting-Request's.
		var zero [16]byte
		sg.mac.Write(b[:4])
		sg.mac.Write(zero[:])
		sg.mac.Write(b[headerLen:])
	} else {
		sg.mac.Write(b)
	}
	copy(b[headerLen+2:headerLen+2+msgAuthLen], sg.macSum())
	sg.md.Write(b)
	sg.md.Write(sg.secret)
	copy(b[4:headerLen], sg.mdSum())
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
