package wire

import "encoding/binary"

// EAP-MSCHAPv2 op-codes (draft-kamath-pppext-eap-mschapv2).
const (
	MSCHAPv2Challenge uint8 = 1
	MSCHAPv2Response  uint8 = 2
	MSCHAPv2Success   uint8 = 3
	MSCHAPv2Failure   uint8 = 4
)

// MSCHAPv2 is one EAP-MSCHAPv2 message: the type-data after the EAP type.
// Success and Failure responses from the peer are the op-code alone; every
// other message carries the MS-CHAPv2-ID and MS-Length header.
type MSCHAPv2 struct {
	OpCode uint8
	ID     uint8
	// Challenge and Response: Value is the value field and Name what follows.
	// Success and Failure requests: Name holds the message text.
	Value []byte
	Name  []byte
}

// ParseMSCHAPv2 decodes EAP-MSCHAPv2 type-data. Value and Name alias d.
func ParseMSCHAPv2(d []byte) (MSCHAPv2, error) {
	if len(d) < 1 {
		return MSCHAPv2{}, ErrMSCHAPv2
	}
	m := MSCHAPv2{OpCode: d[0]}
	if len(d) == 1 {
		if m.OpCode == MSCHAPv2Success || m.OpCode == MSCHAPv2Failure {
			return m, nil
		}
		return MSCHAPv2{}, ErrMSCHAPv2
	}
	if len(d) < 4 {
		return MSCHAPv2{}, ErrMSCHAPv2
	}
	m.ID = d[1]
	msLen := int(binary.BigEndian.Uint16(d[2:4]))
	if msLen < 4 || msLen > len(d) {
		return MSCHAPv2{}, ErrMSCHAPv2
	}
	d = d[4:msLen]
	switch m.OpCode {
	case MSCHAPv2Challenge, MSCHAPv2Response:
		if len(d) < 1 || int(d[0]) > len(d)-1 {
			return MSCHAPv2{}, ErrMSCHAPv2
		}
		m.Value = d[1 : 1+int(d[0])]
		m.Name = d[1+int(d[0]):]
	case MSCHAPv2Success, MSCHAPv2Failure:
		m.Name = d
	default:
		return MSCHAPv2{}, ErrMSCHAPv2
	}
	return m, nil
}

// Marshal encodes m as EAP-MSCHAPv2 type-data. A Success or Failure with no
// ID, value or text is the peer's one-byte acknowledgement.
func (m MSCHAPv2) Marshal() []byte {
	if (m.OpCode == MSCHAPv2Success || m.OpCode == MSCHAPv2Failure) && m.ID == 0 && len(m.Name) == 0 && len(m.Value) == 0 {
		return []byte{m.OpCode}
	}
	b := []byte{m.OpCode, m.ID, 0, 0}
	if m.OpCode == MSCHAPv2Challenge || m.OpCode == MSCHAPv2Response {
		b = append(b, byte(len(m.Value)))
		b = append(b, m.Value...)
	}
	b = append(b, m.Name...)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	return b
}

// MSCHAPv2ResponseValue splits the 49-byte value of a Response.
func MSCHAPv2ResponseValue(v []byte) (peerChallenge, ntResponse []byte, err error) {
	if len(v) != 49 {
		return nil, nil, ErrMSCHAPv2
	}
	return v[0:16], v[24:48], nil
}

// PEAP TLV types (the Result TLV of the PEAP specification, MS-PEAP 2.2.8).
const (
	TLVResult uint16 = 3

	ResultSuccess uint16 = 1
	ResultFailure uint16 = 2
)

// ResultTLV is the type-data of an EAP-TLV (type 33) packet carrying one
// mandatory Result TLV.
func ResultTLV(status uint16) []byte {
	return []byte{0x80, byte(TLVResult), 0, 2, byte(status >> 8), byte(status)}
}

// ParseResultTLV finds the Result TLV in the type-data of an EAP-TLV packet.
func ParseResultTLV(d []byte) (uint16, error) {
	for len(d) > 0 {
		if len(d) < 4 {
			return 0, ErrTLV
		}
		typ := binary.BigEndian.Uint16(d[0:2]) & 0x3fff
		n := int(binary.BigEndian.Uint16(d[2:4]))
		if n > len(d)-4 {
			return 0, ErrTLV
		}
		if typ == TLVResult {
			if n != 2 {
				return 0, ErrTLV
			}
			return binary.BigEndian.Uint16(d[4:6]), nil
		}
		d = d[4+n:]
	}
	return 0, ErrTLV
}
