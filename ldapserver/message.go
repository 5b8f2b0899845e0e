package ldapserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// LDAP application tags (RFC 4511 section 4.2 onwards).
const (
	appBindRequest      = 0
	appBindResponse     = 1
	appUnbindRequest    = 2
	appSearchRequest    = 3
	appSearchEntry      = 4
	appSearchDone       = 5
	appModifyRequest    = 6
	appModifyResponse   = 7
	appAddRequest       = 8
	appAddResponse      = 9
	appDelRequest       = 10
	appDelResponse      = 11
	appModDNRequest     = 12
	appModDNResponse    = 13
	appCompareRequest   = 14
	appCompareResponse  = 15
	appAbandonRequest   = 16
	appExtendedRequest  = 23
	appExtendedResponse = 24
)

// Result codes (RFC 4511 appendix A).
const (
	resultSuccess                = 0
	resultOperationsError        = 1
	resultProtocolError          = 2
	resultTimeLimitExceeded      = 3
	resultSizeLimitExceeded      = 4
	resultAdminLimitExceeded     = 11
	resultAuthMethodNotSupported = 7
	resultStrongerAuthRequired   = 8
	resultUnavailableCritical    = 12
	resultConfidentialityReq     = 13
	resultConstraintViolation    = 19
	resultNoSuchObject           = 32
	resultInvalidDNSyntax        = 34
	resultInvalidCredentials     = 49
	resultInsufficientAccess     = 50
	resultBusy                   = 51
	resultUnavailable            = 52
	resultUnwillingToPerform     = 53
	resultOther                  = 80
)

// resultNames are the metrics' words for result codes.
var resultNames = map[int]string{
	resultSuccess: "success", resultOperationsError: "operations_error", resultProtocolError: "protocol_error",
	resultTimeLimitExceeded: "time_limit", resultSizeLimitExceeded: "size_limit", resultAdminLimitExceeded: "admin_limit",
	resultAuthMethodNotSupported: "auth_method_not_supported", resultUnavailableCritical: "unavailable_critical_extension",
	resultConfidentialityReq: "confidentiality_required", resultConstraintViolation: "constraint_violation",
	resultNoSuchObject: "no_such_object", resultInvalidDNSyntax: "invalid_dn_syntax",
	resultInvalidCredentials: "invalid_credentials", resultInsufficientAccess: "insufficient_access",
	resultBusy: "busy", resultUnavailable: "unavailable", resultUnwillingToPerform: "unwilling_to_perform", resultOther: "other",
}

func resultName(code int) string {
	if n, ok := resultNames[code]; ok {
		return n
	}
	return "other"
}

// OIDs of the extended operations and controls served.
const (
	oidStartTLS              = "1.3.6.1.4.1.1466.20037"
	oidWhoAmI                = "1.3.6.1.4.1.4203.1.11.3"
	oidPasswordModify        = "1.3.6.1.4.1.4203.1.11.1"
	oidPagedResults          = "1.2.840.113556.1.4.319"
	oidNoticeOfDisconnection = "1.3.6.1.4.1.1466.20036"
)

// Ways a message can be malformed; each wraps ErrMalformed.
var (
	ErrMalformed     = errors.New("ldap: malformed message")
	errTooLarge      = fmt.Errorf("%w: message larger than the limit", ErrMalformed)
	errNotSequence   = fmt.Errorf("%w: not an LDAPMessage sequence", ErrMalformed)
	errIndefinite    = fmt.Errorf("%w: indefinite length", ErrMalformed)
	errBadLength     = fmt.Errorf("%w: bad length", ErrMalformed)
	errBadMessageID  = fmt.Errorf("%w: bad message id", ErrMalformed)
	errBadProtocolOp = fmt.Errorf("%w: bad protocol operation", ErrMalformed)
	errBadField      = fmt.Errorf("%w: bad field", ErrMalformed)
)

// frameStep is how much of an announced length readFrame trusts before
// the bytes arrive: the buffer starts at most this large and at most
// doubles with each read, so that a peer holds memory in proportion to
// what it has sent, not to what it has announced.
const frameStep = 1 << 10

// readFrame reads one LDAPMessage's bytes, refusing a length larger than
// max. It never allocates much more than the bytes that have arrived:
// five bytes announcing a quarter of a megabyte must not cost a quarter
// of a megabyte, or a few thousand connections that send them and stop
// take gigabytes.
func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if tag != 0x30 {
		return nil, errNotSequence
	}
	l0, err := r.ReadByte()
	if err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	hdr := []byte{tag, l0}
	length := 0
	switch {
	case l0 == 0x80:
		return nil, errIndefinite
	case l0 < 0x80:
		length = int(l0)
	default:
		n := int(l0 & 0x7f)
		if n > 4 {
			return nil, errBadLength
		}
		for i := 0; i < n; i++ {
			b, err := r.ReadByte()
			if err != nil {
				return nil, io.ErrUnexpectedEOF
			}
			hdr = append(hdr, b)
			length = length<<8 | int(b)
		}
	}
	if length > max {
		return nil, errTooLarge
	}
	total := len(hdr) + length
	buf := make([]byte, len(hdr), min(total, len(hdr)+frameStep))
	copy(buf, hdr)
	for len(buf) < total {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(total-len(buf), len(buf)))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), total)])
		buf = buf[:len(buf)+n]
		if err != nil && len(buf) < total {
			return nil, io.ErrUnexpectedEOF
		}
	}
	return buf, nil
}

// tlv splits one BER element off b: its first identifier byte, its
// content and what follows it. It reports false for anything it cannot
// read plainly (an indefinite or oversized length, a cut-off element),
// which the decoder then refuses in its own words.
func tlv(b []byte) (tag byte, content, rest []byte, ok bool) {
	if len(b) < 2 {
		return 0, nil, nil, false
	}
	tag, i := b[0], 1
	if tag&0x1f == 0x1f { // high tag number: continuation bytes
		for i < len(b) && b[i]&0x80 != 0 {
			i++
		}
		i++
	}
	if i >= len(b) {
		return 0, nil, nil, false
	}
	l0 := b[i]
	i++
	length := int(l0)
	if l0 >= 0x80 {
		k := int(l0 & 0x7f)
		if k == 0 || k > 4 || i+k > len(b) {
			return 0, nil, nil, false
		}
		length = 0
		for ; k > 0; k-- {
			length = length<<8 | int(b[i])
			i++
		}
	}
	if length > len(b)-i {
		return 0, nil, nil, false
	}
	return tag, b[i : i+length], b[i+length:], true
}

// countElements counts the BER elements in b, nested ones included,
// stopping once there are more than limit. It allocates nothing, so that
// a message too complex to serve is refused for the cost of a scan rather
// than of decoding it into a tree twenty times its size.
func countElements(b []byte, limit int) int {
	n := 0
	var walk func(b []byte, depth int) bool
	walk = func(b []byte, depth int) bool {
		for len(b) > 0 {
			tag, content, rest, ok := tlv(b)
			if !ok {
				return true
			}
			if n++; n > limit {
				return false
			}
			if tag&0x20 != 0 && depth < 2*maxFilterDepth && !walk(content, depth+1) {
				return false
			}
			b = rest
		}
		return true
	}
	walk(b, 0)
	return n
}

// frameHeader reads a message's id and the tag of its protocolOp without
// decoding the rest, to answer a message refused before it is decoded.
func frameHeader(frame []byte) (id int64, op ber.Tag, ok bool) {
	tag, body, _, ok := tlv(frame)
	if !ok || tag != 0x30 {
		return 0, 0, false
	}
	tag, idb, rest, ok := tlv(body)
	if !ok || tag != 0x02 || len(idb) == 0 || len(idb) > 4 || len(rest) == 0 {
		return 0, 0, false
	}
	id, err := ber.ParseInt64(idb)
	if err != nil || id < 0 || rest[0]&0xc0 != 0x40 || rest[0]&0x1f == 0x1f {
		return 0, 0, false
	}
	return id, ber.Tag(rest[0] & 0x1f), true
}

// message is a decoded LDAPMessage.
type message struct {
	id       int64
	tag      ber.Tag     // the protocolOp's application tag
	op       *ber.Packet // the protocolOp, an application-class packet; nil when decodeRequest read it
	controls []control
	// The request, when decodeRequest read it from the bytes.
	bind   *bindRequest
	search *searchRequest
}

// decode decodes a frame: straight from the bytes when decodeRequest
// reads it, else through go-asn1-ber.
func decode(frame []byte) (*message, error) {
	if m, ok := decodeRequest(frame); ok {
		return m, nil
	}
	return decodeMessage(frame)
}

// bindRequest is the message's BindRequest.
func (m *message) bindRequest() (bindRequest, error) {
	if m.bind != nil {
		return *m.bind, nil
	}
	return decodeBind(m.op)
}

// searchRequest is the message's SearchRequest.
func (m *message) searchRequest() (searchRequest, error) {
	if m.search != nil {
		return *m.search, nil
	}
	return decodeSearch(m.op)
}

// control is a request control.
type control struct {
	oid      string
	critical bool
	value    []byte
}

// decodeMessage parses one LDAPMessage frame. It checks shape and types
// before anything reads a child, so a malformed message is an error, never
// a panic.
func decodeMessage(frame []byte) (*message, error) {
	p, err := ber.DecodePacketErr(frame)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if p.ClassType != ber.ClassUniversal || p.Tag != ber.TagSequence || len(p.Children) < 2 || len(p.Children) > 3 {
		return nil, errNotSequence
	}
	id, ok := intOf(p.Children[0])
	if !ok || id < 0 || id > 1<<31-1 {
		return nil, errBadMessageID
	}
	op := p.Children[1]
	if op.ClassType != ber.ClassApplication {
		return nil, errBadProtocolOp
	}
	m := &message{id: id, tag: op.Tag, op: op}
	if len(p.Children) == 3 {
		cs := p.Children[2]
		if cs.ClassType != ber.ClassContext || cs.Tag != 0 || cs.TagType != ber.TypeConstructed {
			return nil, fmt.Errorf("%w: controls", errBadField)
		}
		for _, c := range cs.Children {
			ctl, err := decodeControl(c)
			if err != nil {
				return nil, err
			}
			m.controls = append(m.controls, ctl)
		}
	}
	return m, nil
}

func decodeControl(p *ber.Packet) (control, error) {
	bad := fmt.Errorf("%w: control", errBadField)
	if !isUniversal(p, ber.TagSequence) || len(p.Children) < 1 || len(p.Children) > 3 {
		return control{}, bad
	}
	oid, ok := stringOf(p.Children[0])
	if !ok {
		return control{}, bad
	}
	c := control{oid: oid}
	for _, ch := range p.Children[1:] {
		switch {
		case isUniversal(ch, ber.TagBoolean):
			b, ok := ch.Value.(bool)
			if !ok {
				return control{}, bad
			}
			c.critical = b
		case isUniversal(ch, ber.TagOctetString):
			c.value = ch.Data.Bytes()
		default:
			return control{}, bad
		}
	}
	return c, nil
}

func isUniversal(p *ber.Packet, tag ber.Tag) bool {
	return p != nil && p.ClassType == ber.ClassUniversal && p.Tag == tag
}

// intOf reads an INTEGER or ENUMERATED.
func intOf(p *ber.Packet) (int64, bool) {
	if p == nil || p.ClassType != ber.ClassUniversal || (p.Tag != ber.TagInteger && p.Tag != ber.TagEnumerated) || p.TagType != ber.TypePrimitive {
		return 0, false
	}
	if p.Data.Len() == 0 || p.Data.Len() > 8 {
		return 0, false
	}
	v, ok := p.Value.(int64)
	return v, ok
}

// stringOf reads an OCTET STRING.
func stringOf(p *ber.Packet) (string, bool) {
	if !isUniversal(p, ber.TagOctetString) || p.TagType != ber.TypePrimitive {
		return "", false
	}
	return p.Data.String(), true
}

// boolOf reads a BOOLEAN.
func boolOf(p *ber.Packet) (bool, bool) {
	if !isUniversal(p, ber.TagBoolean) || p.TagType != ber.TypePrimitive {
		return false, false
	}
	b, ok := p.Value.(bool)
	return b, ok
}

// contextBytes reads a context-class primitive's content.
func contextBytes(p *ber.Packet, tag ber.Tag) ([]byte, bool) {
	if p == nil || p.ClassType != ber.ClassContext || p.Tag != tag || p.TagType != ber.TypePrimitive {
		return nil, false
	}
	return p.Data.Bytes(), true
}

// envelope wraps a protocolOp in an LDAPMessage with the request's id.
func envelope(id int64, op *ber.Packet, controls ...*ber.Packet) []byte {
	p := ber.NewSequence("LDAPMessage")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	p.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, c := range controls {
			cs.AppendChild(c)
		}
		p.AppendChild(cs)
	}
	return p.Bytes()
}

// appendResultMessage appends the LDAPMessage that carries an
// LDAPResult-shaped response without controls: the same bytes as
// envelope(id, result(app, code, matchedDN, diag)), written straight.
func appendResultMessage(b []byte, id int64, app ber.Tag, code int, matchedDN, diag string) []byte {
	cb, cn := intBytes(int64(code))
	op := tlvSize(cn) + tlvSize(len(matchedDN)) + tlvSize(len(diag))
	ib, in := intBytes(id)
	b = appendTL(b, tagSequence, tlvSize(in)+tlvSize(op))
	b = append(appendTL(b, tagInteger, in), ib[:in]...)
	b = appendTL(b, 0x60|byte(app), op)
	b = append(appendTL(b, tagEnumerated, cn), cb[:cn]...)
	b = appendOctets(b, matchedDN)
	return appendOctets(b, diag)
}

// result builds an LDAPResult-shaped response of the given application tag.
func result(app ber.Tag, code int, matchedDN, diag string) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, app, nil, "response")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, matchedDN, "matchedDN"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "diagnosticMessage"))
	return p
}

// responseTag is the response that answers a request's application tag.
func responseTag(req ber.Tag) ber.Tag {
	switch req {
	case appBindRequest:
		return appBindResponse
	case appSearchRequest:
		return appSearchDone
	case appModifyRequest:
		return appModifyResponse
	case appAddRequest:
		return appAddResponse
	case appDelRequest:
		return appDelResponse
	case appModDNRequest:
		return appModDNResponse
	case appCompareRequest:
		return appCompareResponse
	}
	return appExtendedResponse
}

// octets encodes an OCTET STRING.
func octets(s, desc string) *ber.Packet {
	return ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, s, desc)
}
