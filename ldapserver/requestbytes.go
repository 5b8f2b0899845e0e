package ldapserver

import (
	"bytes"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// The requests clients send most (nslcd's and SSSD's binds and searches,
// and their unbinds) read straight from the bytes, without go-asn1-ber's
// tree of packets for the whole message: that tree cost four or five
// allocations an element, and a search has twenty elements or more.
//
// decodeRequest reads only plainly encoded messages (short tags, definite
// lengths, the types RFC 4511 gives each field) and declines everything
// else, which decodeMessage and the request decoders then read (and
// accept or refuse) exactly as before. So it never accepts what they
// refuse nor reads anything differently: TestDecodeRequestAgrees and
// FuzzDecodeRequestAgrees hold it to that. It runs after countElements,
// so the bounds on a message's size and number of parts are unchanged;
// the filter's depth is bounded as validFilter bounds it.

// decodeRequest decodes a BindRequest (simple), SearchRequest or
// UnbindRequest; ok is false for anything it leaves to decodeMessage.
func decodeRequest(frame []byte) (m *message, ok bool) {
	tag, body, rest, ok := tlv(frame)
	if !ok || tag != tagSequence || len(rest) != 0 {
		return nil, false
	}
	tag, idb, body, ok := tlv(body)
	if !ok || tag != tagInteger {
		return nil, false
	}
	id, ok := intContent(idb)
	if !ok || id < 0 || id > 1<<31-1 {
		return nil, false
	}
	tag, op, body, ok := tlv(body)
	if !ok {
		return nil, false
	}
	m = &message{id: id}
	switch tag {
	case 0x60: // [APPLICATION 0] BindRequest
		b, ok := bindContent(op)
		if !ok {
			return nil, false
		}
		m.tag, m.bind = appBindRequest, &b
	case 0x63: // [APPLICATION 3] SearchRequest
		s, ok := searchContent(op)
		if !ok {
			return nil, false
		}
		m.tag, m.search = appSearchRequest, &s
	case 0x42: // [APPLICATION 2] UnbindRequest: its content is not read
		m.tag = appUnbindRequest
	default:
		return nil, false
	}
	if len(body) == 0 {
		return m, true
	}
	tag, cs, body, ok := tlv(body)
	if !ok || tag != 0xa0 || len(body) != 0 { // [0] Controls, and nothing after
		return nil, false
	}
	for len(cs) > 0 {
		var c []byte
		if tag, c, cs, ok = tlv(cs); !ok || tag != tagSequence {
			return nil, false
		}
		ctl, ok := controlContent(c)
		if !ok {
			return nil, false
		}
		m.controls = append(m.controls, ctl)
	}
	return m, true
}

// intContent reads an INTEGER's or ENUMERATED's content of one to eight
// bytes.
func intContent(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	v := int64(int8(b[0])) // sign-extended
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v, true
}

// intField reads an INTEGER or ENUMERATED off b, as intOf accepts them.
func intField(b []byte) (v int64, rest []byte, ok bool) {
	tag, c, rest, ok := tlv(b)
	if !ok || tag != tagInteger && tag != tagEnumerated {
		return 0, nil, false
	}
	v, ok = intContent(c)
	return v, rest, ok
}

// octetsField reads an OCTET STRING off b.
func octetsField(b []byte) (s, rest []byte, ok bool) {
	tag, s, rest, ok := tlv(b)
	return s, rest, ok && tag == tagOctetString
}

// boolField reads a BOOLEAN of one byte off b.
func boolField(b []byte) (v bool, rest []byte, ok bool) {
	tag, c, rest, ok := tlv(b)
	if !ok || tag != 0x01 || len(c) != 1 {
		return false, nil, false
	}
	return c[0] != 0, rest, true
}

// bindContent reads a simple BindRequest; SASL is left to decodeBind.
func bindContent(b []byte) (bindRequest, bool) {
	v, b, ok := intField(b)
	if !ok {
		return bindRequest{}, false
	}
	name, b, ok := octetsField(b)
	if !ok {
		return bindRequest{}, false
	}
	tag, pw, b, ok := tlv(b)
	if !ok || tag != 0x80 || len(b) != 0 { // [0] simple, primitive
		return bindRequest{}, false
	}
	return bindRequest{version: v, name: string(name), password: string(pw), simple: true}, true
}

// searchContent reads a SearchRequest whose fields decodeSearch would
// accept, and the same way.
func searchContent(b []byte) (searchRequest, bool) {
	var s searchRequest
	base, b, ok := octetsField(b)
	if !ok {
		return s, false
	}
	if s.scope, b, ok = intField(b); !ok || s.scope < scopeBase || s.scope > scopeSub {
		return s, false
	}
	if _, b, ok = intField(b); !ok { // derefAliases
		return s, false
	}
	if s.sizeLimit, b, ok = intField(b); !ok || s.sizeLimit < 0 {
		return s, false
	}
	if s.timeLimit, b, ok = intField(b); !ok || s.timeLimit < 0 {
		return s, false
	}
	if s.typesOnly, b, ok = boolField(b); !ok {
		return s, false
	}
	fb, b, ok := splitElement(b)
	if !ok {
		return s, false
	}
	tag, list, b, ok := tlv(b)
	if !ok || tag != tagSequence || len(b) != 0 {
		return s, false
	}
	var f filterBuilder
	if !f.count(fb, 0) {
		return s, false
	}
	f.packets = make([]ber.Packet, f.nodes)
	f.data = make([]bytes.Buffer, f.nodes)
	f.kids = make([]*ber.Packet, f.children)
	s.filter = f.build(fb)
	if validFilter(s.filter, 0) != nil {
		return s, false
	}
	s.base = string(base)
	// The attribute names, sliced from one string.
	n := 0
	for rest := list; len(rest) > 0; n++ {
		if _, rest, ok = octetsField(rest); !ok {
			return s, false
		}
	}
	if n > 0 {
		s.attributes = make([]string, 0, n)
		names := string(list)
		for rest := list; len(rest) > 0; {
			a, next, _ := octetsField(rest)
			at := len(list) - len(rest) + (len(rest) - len(next) - len(a))
			s.attributes = append(s.attributes, names[at:at+len(a)])
			rest = next
		}
	}
	return s, true
}

// splitElement splits one whole element (tag, length and content) off b.
func splitElement(b []byte) (elem, rest []byte, ok bool) {
	_, _, rest, ok = tlv(b)
	if !ok {
		return nil, nil, false
	}
	return b[:len(b)-len(rest)], rest, true
}

// controlContent reads a Control as decodeControl does.
func controlContent(b []byte) (control, bool) {
	oid, b, ok := octetsField(b)
	if !ok {
		return control{}, false
	}
	c := control{oid: string(oid)}
	for n := 0; len(b) > 0; n++ {
		if n == 2 {
			return control{}, false
		}
		switch b[0] {
		case 0x01:
			if c.critical, b, ok = boolField(b); !ok {
				return control{}, false
			}
		case tagOctetString:
			var v []byte
			if v, b, ok = octetsField(b); !ok {
				return control{}, false
			}
			c.value = v
		default:
			return control{}, false
		}
	}
	return c, true
}

// filterBuilder makes the filter's packets, as go-asn1-ber would read
// them (but for what a filter never reads: a constructed packet's Data,
// a primitive's Value), in two slices rather than several allocations a
// packet.
type filterBuilder struct {
	nodes, children int
	packets         []ber.Packet
	data            []bytes.Buffer
	kids            []*ber.Packet
}

// count counts the packets of the element b and its children, checking
// that every one is of a kind a filter has: context-class elements of a
// short tag, OCTET STRINGs and SEQUENCEs; no deeper than validFilter
// allows.
func (f *filterBuilder) count(b []byte, depth int) bool {
	if depth > 2*maxFilterDepth+2 {
		return false
	}
	tag, c, rest, ok := tlv(b)
	if !ok || len(rest) != 0 || tag&0x1f == 0x1f {
		return false
	}
	switch {
	case tag&0xc0 == 0x80: // context class
	case tag == tagOctetString, tag == tagSequence:
	default:
		return false
	}
	f.nodes++
	if tag&0x20 == 0 {
		return true
	}
	for len(c) > 0 {
		var e []byte
		if e, c, ok = splitElement(c); !ok || !f.count(e, depth+1) {
			return false
		}
		f.children++
	}
	return true
}

// build makes the packet of element b, which count has checked.
func (f *filterBuilder) build(b []byte) *ber.Packet {
	tag, c, _, _ := tlv(b)
	p, data := &f.packets[0], &f.data[0]
	f.packets, f.data = f.packets[1:], f.data[1:]
	p.Identifier = ber.Identifier{ClassType: ber.Class(tag & 0xc0), TagType: ber.Type(tag & 0x20), Tag: ber.Tag(tag & 0x1f)}
	p.Data = data
	if tag&0x20 == 0 {
		*data = *bytes.NewBuffer(c)
		return p
	}
	n := 0
	for rest := c; len(rest) > 0; n++ {
		_, _, rest, _ = tlv(rest)
	}
	p.Children = f.kids[:n:n]
	f.kids = f.kids[n:]
	for i := 0; len(c) > 0; i++ {
		var e []byte
		e, c, _ = splitElement(c)
		p.Children[i] = f.build(e)
	}
	return p
}
