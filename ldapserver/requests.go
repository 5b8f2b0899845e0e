package ldapserver

import (
	"fmt"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// bindRequest is a decoded BindRequest (simple authentication only).
type bindRequest struct {
	version  int64
	name     string
	password string
	simple   bool // false: SASL, which is not served
}

var (
	errBadBind   = fmt.Errorf("%w: bind request", errBadField)
	errBadSearch = fmt.Errorf("%w: search request", errBadField)
)

func decodeBind(op *ber.Packet) (bindRequest, error) {
	bad := errBadBind
	if op.TagType != ber.TypeConstructed || len(op.Children) != 3 {
		return bindRequest{}, bad
	}
	v, ok := intOf(op.Children[0])
	if !ok {
		return bindRequest{}, bad
	}
	name, ok := stringOf(op.Children[1])
	if !ok {
		return bindRequest{}, bad
	}
	b := bindRequest{version: v, name: name}
	auth := op.Children[2]
	if auth.ClassType != ber.ClassContext {
		return bindRequest{}, bad
	}
	switch auth.Tag {
	case 0:
		pw, ok := contextBytes(auth, 0)
		if !ok {
			return bindRequest{}, bad
		}
		b.password, b.simple = string(pw), true
	case 3:
		// SASL: answered with authMethodNotSupported.
	default:
		return bindRequest{}, bad
	}
	return b, nil
}

// Search scopes and alias dereferencing (RFC 4511 section 4.5.1).
const (
	scopeBase = 0
	scopeOne  = 1
	scopeSub  = 2
)

// searchRequest is a decoded SearchRequest; the filter stays a BER tree,
// checked by validFilter.
type searchRequest struct {
	base       string
	scope      int64
	sizeLimit  int64
	timeLimit  int64
	typesOnly  bool
	filter     *ber.Packet
	attributes []string
}

func decodeSearch(op *ber.Packet) (searchRequest, error) {
	bad := errBadSearch
	if op.TagType != ber.TypeConstructed || len(op.Children) != 8 {
		return searchRequest{}, bad
	}
	c := op.Children
	var s searchRequest
	var ok bool
	if s.base, ok = stringOf(c[0]); !ok {
		return s, bad
	}
	if s.scope, ok = intOf(c[1]); !ok || s.scope < scopeBase || s.scope > scopeSub {
		return s, bad
	}
	if _, ok = intOf(c[2]); !ok {
		return s, bad
	}
	if s.sizeLimit, ok = intOf(c[3]); !ok || s.sizeLimit < 0 {
		return s, bad
	}
	if s.timeLimit, ok = intOf(c[4]); !ok || s.timeLimit < 0 {
		return s, bad
	}
	if s.typesOnly, ok = boolOf(c[5]); !ok {
		return s, bad
	}
	if err := validFilter(c[6], 0); err != nil {
		return s, err
	}
	s.filter = c[6]
	if !isUniversal(c[7], ber.TagSequence) {
		return s, bad
	}
	for _, a := range c[7].Children {
		name, ok := stringOf(a)
		if !ok {
			return s, bad
		}
		s.attributes = append(s.attributes, name)
	}
	return s, nil
}

// extendedRequest is a decoded ExtendedRequest.
type extendedRequest struct {
	name     string
	value    []byte
	hasValue bool
}

func decodeExtended(op *ber.Packet) (extendedRequest, error) {
	bad := fmt.Errorf("%w: extended request", errBadField)
	if op.TagType != ber.TypeConstructed || len(op.Children) < 1 || len(op.Children) > 2 {
		return extendedRequest{}, bad
	}
	name, ok := contextBytes(op.Children[0], 0)
	if !ok {
		return extendedRequest{}, bad
	}
	e := extendedRequest{name: string(name)}
	if len(op.Children) == 2 {
		v, ok := contextBytes(op.Children[1], 1)
		if !ok {
			return extendedRequest{}, bad
		}
		e.value, e.hasValue = v, true
	}
	return e, nil
}

// passwdModify is the value of a Password Modify request (RFC 3062).
type passwdModify struct {
	user, oldPassword, newPassword string
	hasOld, hasNew                 bool
}

func decodePasswdModify(v []byte) (passwdModify, error) {
	bad := fmt.Errorf("%w: password modify request", errBadField)
	var m passwdModify
	if len(v) == 0 {
		return m, nil
	}
	p, err := ber.DecodePacketErr(v)
	if err != nil || !isUniversal(p, ber.TagSequence) || p.TagType != ber.TypeConstructed {
		return m, bad
	}
	for _, c := range p.Children {
		if c.ClassType != ber.ClassContext || c.TagType != ber.TypePrimitive {
			return m, bad
		}
		val := c.Data.String()
		switch c.Tag {
		case 0:
			m.user = val
		case 1:
			m.oldPassword, m.hasOld = val, true
		case 2:
			m.newPassword, m.hasNew = val, true
		default:
			return m, bad
		}
	}
	return m, nil
}

// pagingControl is the Simple Paged Results control value (RFC 2696).
type pagingControl struct {
	size   int64
	cookie []byte
}

func decodePaging(v []byte) (pagingControl, error) {
	bad := fmt.Errorf("%w: paged results control", errBadField)
	p, err := ber.DecodePacketErr(v)
	if err != nil || !isUniversal(p, ber.TagSequence) || len(p.Children) != 2 {
		return pagingControl{}, bad
	}
	size, ok := intOf(p.Children[0])
	if !ok || size < 0 {
		return pagingControl{}, bad
	}
	if !isUniversal(p.Children[1], ber.TagOctetString) {
		return pagingControl{}, bad
	}
	return pagingControl{size: size, cookie: p.Children[1].Data.Bytes()}, nil
}

// encodePaging builds the response control carrying the next cookie.
func encodePaging(cookie []byte) *ber.Packet {
	c := ber.NewSequence("Control")
	c.AppendChild(octets(oidPagedResults, "controlType"))
	v := ber.NewSequence("realSearchControlValue")
	v.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), "size"))
	v.AppendChild(octets(string(cookie), "cookie"))
	c.AppendChild(octets(string(v.Bytes()), "controlValue"))
	return c
}
