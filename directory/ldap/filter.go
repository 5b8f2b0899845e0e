package ldapserver

import (
	"fmt"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// Filter choices (RFC 4511 section 4.5.1.7).
const (
	filterAnd        = 0
	filterOr         = 1
	filterNot        = 2
	filterEquality   = 3
	filterSubstrings = 4
	filterGreater    = 5
	filterLess       = 6
	filterPresent    = 7
	filterApprox     = 8
	filterExtensible = 9
)

// maxFilterDepth bounds nesting so that a hostile filter cannot exhaust the
// stack of the evaluator.
const maxFilterDepth = 32

var errBadFilter = fmt.Errorf("%w: filter", errBadField)

// validFilter checks a filter's shape once, so that evaluation can index
// children without checking again.
func validFilter(p *ber.Packet, depth int) error {
	if depth > maxFilterDepth || p == nil || p.ClassType != ber.ClassContext {
		return errBadFilter
	}
	switch p.Tag {
	case filterAnd, filterOr:
		if p.TagType != ber.TypeConstructed {
			return errBadFilter
		}
		for _, c := range p.Children {
			if err := validFilter(c, depth+1); err != nil {
				return err
			}
		}
	case filterNot:
		if p.TagType != ber.TypeConstructed || len(p.Children) != 1 {
			return errBadFilter
		}
		return validFilter(p.Children[0], depth+1)
	case filterEquality, filterGreater, filterLess, filterApprox:
		if p.TagType != ber.TypeConstructed || len(p.Children) != 2 {
			return errBadFilter
		}
		if _, ok := stringOf(p.Children[0]); !ok {
			return errBadFilter
		}
		if _, ok := stringOf(p.Children[1]); !ok {
			return errBadFilter
		}
	case filterSubstrings:
		if p.TagType != ber.TypeConstructed || len(p.Children) != 2 {
			return errBadFilter
		}
		if _, ok := stringOf(p.Children[0]); !ok {
			return errBadFilter
		}
		subs := p.Children[1]
		if !isUniversal(subs, ber.TagSequence) || len(subs.Children) == 0 {
			return errBadFilter
		}
		for _, s := range subs.Children {
			if s.ClassType != ber.ClassContext || s.TagType != ber.TypePrimitive || s.Tag > 2 {
				return errBadFilter
			}
		}
	case filterPresent:
		if p.TagType != ber.TypePrimitive {
			return errBadFilter
		}
	case filterExtensible:
		if p.TagType != ber.TypeConstructed {
			return errBadFilter
		}
	default:
		return errBadFilter
	}
	return nil
}

// tri is a filter's three-valued outcome (RFC 4511 section 4.5.1.7).
type tri int8

const (
	triFalse tri = iota
	triTrue
	triUndefined
)

// eqAttr reads the attribute and value of an equality-like filter.
func eqAttr(p *ber.Packet) (attr, value string) {
	return strings.ToLower(p.Children[0].Data.String()), p.Children[1].Data.String()
}

// match evaluates a validated filter against an entry.
func match(p *ber.Packet, e *entry) tri {
	switch p.Tag {
	case filterAnd:
		out := triTrue
		for _, c := range p.Children {
			switch match(c, e) {
			case triFalse:
				return triFalse
			case triUndefined:
				out = triUndefined
			}
		}
		return out
	case filterOr:
		out := triFalse
		for _, c := range p.Children {
			switch match(c, e) {
			case triTrue:
				return triTrue
			case triUndefined:
				out = triUndefined
			}
		}
		return out
	case filterNot:
		switch match(p.Children[0], e) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUndefined
	case filterEquality, filterApprox, filterGreater, filterLess:
		attr, want := eqAttr(p)
		vals, known := e.values(attr)
		if !known {
			return triUndefined
		}
		for _, v := range vals {
			if compare(attr, v, want, int(p.Tag)) {
				return triTrue
			}
		}
		return triFalse
	case filterSubstrings:
		attr := strings.ToLower(p.Children[0].Data.String())
		vals, known := e.values(attr)
		if !known {
			return triUndefined
		}
		for _, v := range vals {
			if substringMatch(v, p.Children[1].Children) {
				return triTrue
			}
		}
		return triFalse
	case filterPresent:
		attr := strings.ToLower(p.Data.String())
		if attr == "objectclass" {
			return triTrue
		}
		if vals, _ := e.values(attr); len(vals) > 0 {
			return triTrue
		}
		return triFalse
	}
	return triUndefined
}

// integerAttrs are compared as numbers (integerMatch, integerOrderingMatch).
var integerAttrs = map[string]bool{"uidnumber": true, "gidnumber": true, "shadowexpire": true,
	"shadowlastchange": true, "shadowmin": true, "shadowmax": true, "shadowwarning": true, "shadowinactive": true}

// dnAttrs are compared as distinguished names.
var dnAttrs = map[string]bool{"member": true, "memberof": true, "entrydn": true, "subschemasubentry": true}

func compare(attr, have, want string, op int) bool {
	if integerAttrs[attr] {
		h, err1 := strconv.ParseInt(have, 10, 64)
		w, err2 := strconv.ParseInt(strings.TrimSpace(want), 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		switch op {
		case filterGreater:
			return h >= w
		case filterLess:
			return h <= w
		}
		return h == w
	}
	if dnAttrs[attr] {
		have, want = normDN(have), normDN(want)
	} else {
		have, want = foldValue(have), foldValue(want)
	}
	switch op {
	case filterGreater:
		return have >= want
	case filterLess:
		return have <= want
	}
	return have == want
}

// foldValue applies caseIgnoreMatch's preparation: case folded, inner
// spaces collapsed, outer ones dropped.
func foldValue(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

func substringMatch(value string, subs []*ber.Packet) bool {
	v := foldValue(value)
	for i, s := range subs {
		part := foldValue(s.Data.String())
		switch s.Tag {
		case 0: // initial
			if i != 0 || !strings.HasPrefix(v, part) {
				return false
			}
			v = v[len(part):]
		case 1: // any
			k := strings.Index(v, part)
			if k < 0 {
				return false
			}
			v = v[k+len(part):]
		case 2: // final
			if i != len(subs)-1 || !strings.HasSuffix(v, part) {
				return false
			}
			v = ""
		}
	}
	return true
}
