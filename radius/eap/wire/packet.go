// Package wire holds the wire formats of the EAP methods that Keystage speaks:
// the EAP packet (RFC 3748), the EAP-TLS style header that PEAP and EAP-TTLS
// share (RFC 5216 section 3), EAP-MSCHAPv2 messages, the PEAP Result TLV and
// the Diameter AVPs that EAP-TTLS carries (RFC 5281).
//
// Everything here is pure: no I/O, no state beyond the reassembly buffer the
// caller owns. Lengths are checked before every slice, and each way to be
// malformed has its own sentinel error, so that a fuzzer can drive it.
package wire

import (
	"encoding/binary"
	"errors"
)

// EAP codes (RFC 3748 section 4).
const (
	CodeRequest  uint8 = 1
	CodeResponse uint8 = 2
	CodeSuccess  uint8 = 3
	CodeFailure  uint8 = 4
)

// EAP method types used here.
const (
	TypeIdentity     uint8 = 1
	TypeNotification uint8 = 2
	TypeNak          uint8 = 3
	TypeTTLS         uint8 = 21
	TypePEAP         uint8 = 25
	TypeMSCHAPv2     uint8 = 26
	TypeTLV          uint8 = 33
)

// Errors for malformed packets.
var (
	ErrShort      = errors.New("eap: packet too short")
	ErrLength     = errors.New("eap: length field disagrees with packet")
	ErrCode       = errors.New("eap: unknown code")
	ErrNoType     = errors.New("eap: request or response without a type")
	ErrTLSLength  = errors.New("eap: TLS message length missing or too large")
	ErrFragment   = errors.New("eap: fragment out of order")
	ErrMSCHAPv2   = errors.New("eap: malformed MSCHAPv2 message")
	ErrTLV        = errors.New("eap: malformed TLV")
	ErrAVP        = errors.New("eap: malformed Diameter AVP")
	ErrHeaderSize = errors.New("eap: packet larger than 65535 bytes")
)

// Packet is one EAP packet. Type and Data are meaningful for requests and
// responses only; Success and Failure carry neither.
type Packet struct {
	Code uint8
	ID   uint8
	Type uint8
	Data []byte
}

// Parse decodes one EAP packet. Bytes after the length the header states are
// padding and ignored, as RFC 3748 section 4.1 asks. Data aliases b.
func Parse(b []byte) (Packet, error) {
	if len(b) < 4 {
		return Packet{}, ErrShort
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < 4 || n > len(b) {
		return Packet{}, ErrLength
	}
	p := Packet{Code: b[0], ID: b[1]}
	b = b[:n]
	switch p.Code {
	case CodeRequest, CodeResponse:
		if n < 5 {
			return Packet{}, ErrNoType
		}
		p.Type = b[4]
		p.Data = b[5:]
	case CodeSuccess, CodeFailure:
		if n != 4 {
			return Packet{}, ErrLength
		}
	default:
		return Packet{}, ErrCode
	}
	return p, nil
}

// Marshal encodes p. It panics if the packet cannot fit the 16-bit length,
// which only a programming error can cause: callers fragment first.
func (p Packet) Marshal() []byte {
	n := 4
	if p.Code == CodeRequest || p.Code == CodeResponse {
		n += 1 + len(p.Data)
	}
	if n > 0xffff {
		panic(ErrHeaderSize)
	}
	b := make([]byte, n)
	b[0], b[1] = p.Code, p.ID
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
	if n > 4 {
		b[4] = p.Type
		copy(b[5:], p.Data)
	}
	return b
}
