package wire

import "encoding/binary"

// Diameter AVP flags (RFC 5281 section 10.1).
const (
	AVPVendor    uint8 = 0x80
	AVPMandatory uint8 = 0x40
)

// AVP codes that EAP-TTLS carries for PAP and MSCHAPv2 (RFC 5281 section 11).
const (
	AVPUserName     uint32 = 1
	AVPUserPassword uint32 = 2
	AVPEAPMessage   uint32 = 79

	VendorMicrosoft uint32 = 311

	AVPMSCHAPChallenge uint32 = 11 // vendor 311
	AVPMSCHAP2Response uint32 = 25 // vendor 311
	AVPMSCHAP2Success  uint32 = 26 // vendor 311
	AVPMSCHAPError     uint32 = 2  // vendor 311
)

// maxAVPs bounds how many AVPs one tunnelled message may hold.
const maxAVPs = 64

// AVP is one Diameter attribute-value pair.
type AVP struct {
	Code   uint32
	Flags  uint8
	Vendor uint32 // meaningful when Flags has AVPVendor
	Data   []byte
}

// ParseAVPs decodes a sequence of AVPs, each padded to four bytes. Data
// aliases b.
func ParseAVPs(b []byte) ([]AVP, error) {
	var avps []AVP
	for len(b) > 0 {
		if len(avps) == maxAVPs || len(b) < 8 {
			return nil, ErrAVP
		}
		a := AVP{Code: binary.BigEndian.Uint32(b[0:4]), Flags: b[4]}
		n := int(b[5])<<16 | int(b[6])<<8 | int(b[7])
		hdr := 8
		if a.Flags&AVPVendor != 0 {
			if len(b) < 12 {
				return nil, ErrAVP
			}
			a.Vendor = binary.BigEndian.Uint32(b[8:12])
			hdr = 12
		}
		if n < hdr || n > len(b) {
			return nil, ErrAVP
		}
		a.Data = b[hdr:n]
		avps = append(avps, a)
		padded := (n + 3) &^ 3
		if padded > len(b) {
			// The last AVP may go unpadded; anything else is broken.
			padded = len(b)
		}
		b = b[padded:]
	}
	return avps, nil
}

// AppendAVP appends a to b with its padding.
func AppendAVP(b []byte, a AVP) []byte {
	hdr := 8
	if a.Flags&AVPVendor != 0 {
		hdr = 12
	}
	n := hdr + len(a.Data)
	b = binary.BigEndian.AppendUint32(b, a.Code)
	b = append(b, a.Flags, byte(n>>16), byte(n>>8), byte(n))
	if a.Flags&AVPVendor != 0 {
		b = binary.BigEndian.AppendUint32(b, a.Vendor)
	}
	b = append(b, a.Data...)
	for n%4 != 0 {
		b = append(b, 0)
		n++
	}
	return b
}
