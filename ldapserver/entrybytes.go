package ldapserver

// A SearchResultEntry written straight into bytes: the same encoding as
// envelope(id, encodeEntry(e, sel, typesOnly)), without building a tree of
// packets for each value. Searches send one of these per entry, so it is
// the hot path's encoder; TestEntryBytesMatchPackets holds the two equal.

// BER tags used here (universal and LDAP application tags).
const (
	tagInteger     = 0x02
	tagEnumerated  = 0x0a
	tagOctetString = 0x04
	tagSequence    = 0x30
	tagSet         = 0x31
	tagSearchEntry = 0x64 // [APPLICATION 4] constructed
)

// tlvSize is the encoded size of a value of n bytes with its tag and
// length.
func tlvSize(n int) int { return 1 + lenSize(n) + n }

// lenSize is the size of a definite length n.
func lenSize(n int) int {
	if n < 0x80 {
		return 1
	}
	s := 1
	for ; n > 0; n >>= 8 {
		s++
	}
	return s
}

// appendTL appends a tag and the definite length n.
func appendTL(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	if n < 0x80 {
		return append(b, byte(n))
	}
	k := lenSize(n) - 1
	b = append(b, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		b = append(b, byte(n>>(8*i)))
	}
	return b
}

func appendOctets(b []byte, s string) []byte {
	return append(appendTL(b, tagOctetString, len(s)), s...)
}

// intBytes is the two's complement content of an INTEGER, shortest form.
func intBytes(v int64) (out [8]byte, n int) {
	n = 1
	for n < 8 {
		// Enough bytes when the rest is only sign extension.
		hi := v >> (8*n - 1)
		if hi == 0 || hi == -1 {
			break
		}
		n++
	}
	for i := 0; i < n; i++ {
		out[i] = byte(v >> (8 * (n - 1 - i)))
	}
	return out, n
}

// attrSizes are the content sizes of one attribute's PartialAttribute and
// of its set of values.
func attrSizes(a *attr, typesOnly bool) (pa, vals int) {
	if !typesOnly {
		for _, v := range a.values {
			vals += tlvSize(len(v))
		}
	}
	return tlvSize(len(a.name)) + tlvSize(vals), vals
}

// appendEntryMessage appends the LDAPMessage that carries e as message id's
// SearchResultEntry, with the attributes sel asks for.
func appendEntryMessage(b []byte, id int64, e *entry, sel selection, typesOnly bool) []byte {
	list := 0
	for i := range e.attrs {
		if a := &e.attrs[i]; sel.wants(*a) {
			pa, _ := attrSizes(a, typesOnly)
			list += tlvSize(pa)
		}
	}
	op := tlvSize(len(e.dn)) + tlvSize(list)
	ib, in := intBytes(id)
	msg := tlvSize(in) + tlvSize(op)
	b = appendTL(b, tagSequence, msg)
	b = append(appendTL(b, tagInteger, in), ib[:in]...)
	b = appendTL(b, tagSearchEntry, op)
	b = appendOctets(b, e.dn)
	b = appendTL(b, tagSequence, list)
	for i := range e.attrs {
		a := &e.attrs[i]
		if !sel.wants(*a) {
			continue
		}
		pa, vals := attrSizes(a, typesOnly)
		b = appendTL(b, tagSequence, pa)
		b = appendOctets(b, a.name)
		b = appendTL(b, tagSet, vals)
		if !typesOnly {
			for _, v := range a.values {
				b = appendOctets(b, v)
			}
		}
	}
	return b
}

// entryMessageSize is the size appendEntryMessage will append, so that the
// buffer is made once.
func entryMessageSize(id int64, e *entry, sel selection, typesOnly bool) int {
	list := 0
	for i := range e.attrs {
		if a := &e.attrs[i]; sel.wants(*a) {
			pa, _ := attrSizes(a, typesOnly)
			list += tlvSize(pa)
		}
	}
	_, in := intBytes(id)
	return tlvSize(tlvSize(in) + tlvSize(tlvSize(len(e.dn))+tlvSize(list)))
}
