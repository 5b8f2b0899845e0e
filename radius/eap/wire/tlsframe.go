package wire

import "encoding/binary"

// Flags of the EAP-TLS style header (RFC 5216 section 3.1; PEAP and EAP-TTLS
// use the low three bits for their version).
const (
	FlagLength  uint8 = 0x80 // L: a four-byte TLS Message Length follows
	FlagMore    uint8 = 0x40 // M: more fragments follow
	FlagStart   uint8 = 0x20 // S: start of the method
	VersionMask uint8 = 0x07
)

// TLSFrame is the type-data of a PEAP or EAP-TTLS packet.
type TLSFrame struct {
	Flags  uint8
	Length uint32 // the whole TLS message, when Flags has FlagLength
	Data   []byte
}

// ParseTLSFrame decodes the type-data of a PEAP or EAP-TTLS packet. Data
// aliases d.
func ParseTLSFrame(d []byte) (TLSFrame, error) {
	if len(d) < 1 {
		return TLSFrame{}, ErrShort
	}
	f := TLSFrame{Flags: d[0]}
	d = d[1:]
	if f.Flags&FlagLength != 0 {
		if len(d) < 4 {
			return TLSFrame{}, ErrShort
		}
		f.Length = binary.BigEndian.Uint32(d[:4])
		d = d[4:]
	}
	f.Data = d
	return f, nil
}

// Marshal encodes f as type-data.
func (f TLSFrame) Marshal() []byte {
	n := 1 + len(f.Data)
	if f.Flags&FlagLength != 0 {
		n += 4
	}
	b := make([]byte, 0, n)
	b = append(b, f.Flags)
	if f.Flags&FlagLength != 0 {
		b = binary.BigEndian.AppendUint32(b, f.Length)
	}
	return append(b, f.Data...)
}

// IsAck reports whether f acknowledges a fragment: no data and no L, M or S.
func (f TLSFrame) IsAck() bool {
	return len(f.Data) == 0 && f.Flags&(FlagLength|FlagMore|FlagStart) == 0
}

// Reassembler collects the fragments of one TLS message. Its zero value is
// ready; Max bounds the message so that a peer cannot make it grow without end.
type Reassembler struct {
	Max    int
	buf    []byte
	want   int // total length announced by the first fragment, 0 if none
	active bool
}

// Add takes one fragment. It returns the whole message once the last fragment
// has arrived (complete true); until then the caller acknowledges. The
// returned message is the caller's to keep.
func (r *Reassembler) Add(f TLSFrame) (msg []byte, complete bool, err error) {
	if f.Flags&FlagLength != 0 {
		if r.active && r.want != int(f.Length) {
			r.Reset()
			return nil, false, ErrFragment
		}
		if f.Length > uint32(r.Max) {
			r.Reset()
			return nil, false, ErrTLSLength
		}
		if !r.active {
			r.want = int(f.Length)
		}
	}
	if len(r.buf)+len(f.Data) > r.Max {
		r.Reset()
		return nil, false, ErrTLSLength
	}
	r.buf = append(r.buf, f.Data...)
	r.active = true
	if r.want != 0 && len(r.buf) > r.want {
		r.Reset()
		return nil, false, ErrFragment
	}
	if f.Flags&FlagMore != 0 {
		return nil, false, nil
	}
	// A message whose fragments do not add up to the length it announced is
	// broken; RFC 5216 lets the last fragment omit L, so only check when known.
	if r.want != 0 && len(r.buf) != r.want {
		r.Reset()
		return nil, false, ErrFragment
	}
	msg = r.buf
	r.buf, r.want, r.active = nil, 0, false
	return msg, true, nil
}

// Active reports whether a message is part way through reassembly.
func (r *Reassembler) Active() bool { return r.active }

// Reset drops a partial message.
func (r *Reassembler) Reset() { r.buf, r.want, r.active = nil, 0, false }

// Fragmenter hands out one TLS message in fragments of at most Size bytes.
type Fragmenter struct {
	rest  []byte
	total int
	sent  bool
}

// Load queues msg, replacing anything left.
func (g *Fragmenter) Load(msg []byte) { g.rest, g.total, g.sent = msg, len(msg), false }

// Pending reports whether fragments remain to be sent.
func (g *Fragmenter) Pending() bool { return len(g.rest) > 0 }

// Next returns the next fragment with its flags and version bits. The first
// fragment carries L (RFC 5216 requires it only when there are several, but
// Windows peers and FreeRADIUS's include_length default expect it always); all
// but the last carry M.
func (g *Fragmenter) Next(size int, version uint8) TLSFrame {
	f := TLSFrame{Flags: version & VersionMask}
	n := min(size, len(g.rest))
	if !g.sent {
		f.Flags |= FlagLength
		f.Length = uint32(g.total)
	}
	f.Data = g.rest[:n]
	g.rest = g.rest[n:]
	g.sent = true
	if len(g.rest) > 0 {
		f.Flags |= FlagMore
	}
	return f
}
