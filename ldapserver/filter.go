package ldapserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"

	"keystage.dev/keystage/directory"
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
	return attrName(p.Children[0]), p.Children[1].Data.String()
}

// attrName is the attribute name a primitive packet holds, in lower case:
// the schema's names are found without allocating.
func attrName(p *ber.Packet) string {
	if l, ok := lowerNames[string(p.Data.Bytes())]; ok {
		return l
	}
	return strings.ToLower(p.Data.String())
}

// filter is a validated filter compiled for matching: attribute names
// lower-cased and assertion values prepared for their attribute's matching
// rule once per search, not once per entry and comparison (a DN in a
// filter was parsed again for every member of every group it was compared
// with). ORs of equalities on one attribute become one set.
type filter struct {
	op    int
	attr  string    // lower case
	kind  valueKind // how attr's values compare
	value string    // the prepared assertion value
	num   int64     // the assertion value of an integer attribute
	isNum bool      // num holds a number; false: the assertion matches nothing
	set   map[string]bool
	subs  []substring
	kids  []*filter
}

type substring struct {
	tag  ber.Tag // 0 initial, 1 any, 2 final
	part string  // folded
}

// valueKind is an attribute's matching rule.
type valueKind int8

const (
	kindFold    valueKind = iota // caseIgnoreMatch
	kindDN                       // distinguishedNameMatch
	kindInteger                  // integerMatch
)

func kindOf(attr string) valueKind {
	switch {
	case integerAttrs[attr]:
		return kindInteger
	case dnAttrs[attr]:
		return kindDN
	}
	return kindFold
}

// prepare is a value in the comparable form of its kind.
func prepare(kind valueKind, v string) string {
	switch kind {
	case kindDN:
		return normDN(v)
	case kindInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	return foldValue(v)
}

// errFilterTooComplex is a filter with more parts than the server allows.
var errFilterTooComplex = fmt.Errorf("%w: filter too complex", errBadField)

// compileFilter compiles a filter that validFilter accepted, refusing one
// of more than maxTerms parts (each AND, OR, NOT, assertion and part of a
// substring assertion counts).
func compileFilter(p *ber.Packet, maxTerms int) (*filter, error) {
	n := 0
	return compileNode(p, &n, maxTerms)
}

func compileNode(p *ber.Packet, n *int, maxTerms int) (*filter, error) {
	if *n++; *n > maxTerms {
		return nil, errFilterTooComplex
	}
	f := &filter{op: int(p.Tag)}
	switch p.Tag {
	case filterAnd, filterOr, filterNot:
		var sets map[string]*filter // made for an OR of equalities only
		for _, c := range p.Children {
			k, err := compileNode(c, n, maxTerms)
			if err != nil {
				return nil, err
			}
			if p.Tag == filterOr && k.op == filterEquality {
				// (|(member=A)(member=B)…) is one lookup per value of the
				// entry's member, not one comparison per term.
				if set := sets[k.attr]; set != nil {
					if k.kind != kindInteger || k.isNum {
						set.set[k.value] = true
					}
					continue
				}
				set := &filter{op: filterEquality, attr: k.attr, kind: k.kind, set: map[string]bool{}}
				if k.kind != kindInteger || k.isNum {
					set.set[k.value] = true
				}
				if sets == nil {
					sets = map[string]*filter{}
				}
				sets[k.attr] = set
				k = set
			}
			f.kids = append(f.kids, k)
		}
	case filterEquality, filterApprox, filterGreater, filterLess:
		attr, v := eqAttr(p)
		f.attr, f.kind = attr, kindOf(attr)
		f.value = prepare(f.kind, v)
		if f.kind == kindInteger {
			f.num, f.isNum = parseInt(v)
		}
	case filterSubstrings:
		f.attr = attrName(p.Children[0])
		f.kind = kindOf(f.attr)
		for _, s := range p.Children[1].Children {
			if *n++; *n > maxTerms {
				return nil, errFilterTooComplex
			}
			f.subs = append(f.subs, substring{tag: s.Tag, part: foldValue(s.Data.String())})
		}
	case filterPresent:
		f.attr = attrName(p)
	}
	return f, nil
}

func parseInt(v string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, err == nil
}

// matcher matches a compiled filter against one entry, preparing each of
// the entry's values at most once however many terms look at them.
type matcher struct {
	e        *entry
	prepared map[string][]string
}

// values are the entry's values of attr, prepared for kind, and whether
// the schema knows attr.
func (m *matcher) values(attr string, kind valueKind) ([]string, bool) {
	if kind == kindFold {
		if vals, ok := m.e.foldedValues(attr); ok {
			return vals, true
		}
	}
	vals, known := m.e.values(attr)
	if len(vals) == 0 || kind == kindFold && allFolded(vals) {
		return vals, known
	}
	if out, ok := m.prepared[attr]; ok {
		return out, known
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = prepare(kind, v)
	}
	if m.prepared == nil {
		m.prepared = map[string][]string{}
	}
	m.prepared[attr] = out
	return out, known
}

// matches reports whether f is true for e.
func (f *filter) matches(e *entry) bool {
	m := matcher{e: e}
	return m.match(f) == triTrue
}

func (m *matcher) match(f *filter) tri {
	switch f.op {
	case filterAnd:
		out := triTrue
		for _, c := range f.kids {
			switch m.match(c) {
			case triFalse:
				return triFalse
			case triUndefined:
				out = triUndefined
			}
		}
		return out
	case filterOr:
		out := triFalse
		for _, c := range f.kids {
			switch m.match(c) {
			case triTrue:
				return triTrue
			case triUndefined:
				out = triUndefined
			}
		}
		return out
	case filterNot:
		switch m.match(f.kids[0]) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUndefined
	case filterEquality, filterApprox, filterGreater, filterLess:
		if f.kind == kindInteger {
			return m.matchInteger(f)
		}
		vals, known := m.values(f.attr, f.kind)
		if !known {
			return triUndefined
		}
		if f.op == filterEquality && hasSorted(vals, f.value, f.set) {
			return triTrue
		}
		for _, v := range vals {
			switch {
			case f.set != nil:
				if f.set[v] {
					return triTrue
				}
			case f.op == filterGreater:
				if v >= f.value {
					return triTrue
				}
			case f.op == filterLess:
				if v <= f.value {
					return triTrue
				}
			case v == f.value:
				return triTrue
			}
		}
		return triFalse
	case filterSubstrings:
		vals, known := m.e.values(f.attr)
		if !known {
			return triUndefined
		}
		for _, v := range vals {
			if substringMatch(foldValue(v), f.subs) {
				return triTrue
			}
		}
		return triFalse
	case filterPresent:
		if f.attr == "objectclass" {
			return triTrue
		}
		if vals, _ := m.e.values(f.attr); len(vals) > 0 {
			return triTrue
		}
		return triFalse
	}
	return triUndefined
}

// hasSorted reports whether a long list of values holds want (or, with a
// set, one of its values), looking it up by binary search as if the list
// were sorted, which a group's members are: the (memberUid=NAME) of
// SSSD's initgroups then costs a few comparisons per group, not one per
// member. A value found is there whatever the order, so true is always
// right; false says only that the caller must look through the list.
func hasSorted(vals []string, want string, set map[string]bool) bool {
	if len(vals) < 32 || len(set) > 8 {
		return false
	}
	if set == nil {
		_, ok := slices.BinarySearch(vals, want)
		return ok
	}
	for v := range set {
		if _, ok := slices.BinarySearch(vals, v); ok {
			return true
		}
	}
	return false
}

// matchInteger compares an integer attribute's values as numbers.
func (m *matcher) matchInteger(f *filter) tri {
	vals, known := m.e.values(f.attr)
	if !known {
		return triUndefined
	}
	if f.set == nil && !f.isNum {
		return triFalse
	}
	for _, v := range vals {
		h, ok := parseInt(v)
		if !ok {
			continue
		}
		switch {
		case f.set != nil:
			if f.set[strconv.FormatInt(h, 10)] {
				return triTrue
			}
		case f.op == filterGreater:
			if h >= f.num {
				return triTrue
			}
		case f.op == filterLess:
			if h <= f.num {
				return triTrue
			}
		case h == f.num:
			return triTrue
		}
	}
	return triFalse
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
	if folded(s) {
		return s // most values (usernames, numbers) are: no allocation
	}
	if asciiWord(s) {
		return strings.ToLower(s) // objectClass=posixAccount: no spaces to collapse
	}
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// foldedEqual reports whether foldValue(string(v)) == folded, without
// allocating when v is an ASCII word (objectClass=posixAccount).
func foldedEqual(v []byte, folded string) bool {
	for _, c := range v {
		if c >= 0x80 || c == ' ' || '\t' <= c && c <= '\r' {
			return foldValue(string(v)) == folded
		}
	}
	if len(v) != len(folded) {
		return false
	}
	for i, c := range v {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != folded[i] {
			return false
		}
	}
	return true
}

// asciiWord reports whether s is ASCII without white space.
func asciiWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || c == ' ' || '\t' <= c && c <= '\r' {
			return false
		}
	}
	return true
}

// allFolded reports whether foldValue leaves every value as it is.
func allFolded(vs []string) bool {
	for _, v := range vs {
		if !folded(v) {
			return false
		}
	}
	return true
}

// folded reports whether foldValue would return s unchanged: ASCII, no
// upper case, single spaces between words and none around them.
func folded(s string) bool {
	space := true // a leading space is not folded
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80 || 'A' <= c && c <= 'Z' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			return false
		case c == ' ':
			if space {
				return false
			}
			space = true
		default:
			space = false
		}
	}
	return !space || s == ""
}

// substringMatch matches a folded value against folded parts.
func substringMatch(v string, subs []substring) bool {
	for i, s := range subs {
		switch s.tag {
		case 0: // initial
			if i != 0 || !strings.HasPrefix(v, s.part) {
				return false
			}
			v = v[len(s.part):]
		case 1: // any
			k := strings.Index(v, s.part)
			if k < 0 {
				return false
			}
			v = v[k+len(s.part):]
		case 2: // final
			if i != len(subs)-1 || !strings.HasSuffix(v, s.part) {
				return false
			}
			v = ""
		}
	}
	return true
}

// planFilter plans an indexed search for f as lookups: an AND by the
// first of its terms that can be planned, an OR only when every term can
// (the union of their answers), an equality or approximate match by leaf,
// anything else not at all (ok false: the caller scans). mayPlanOr, when
// set, is asked before an OR of n terms is looked up term by term.
func planFilter[T any](ctx context.Context, f *ber.Packet, mayPlanOr func(n int) (bool, error), leaf func(attr, value string) ([]T, bool, error)) ([]T, bool, error) {
	switch f.Tag {
	case filterAnd:
		for _, c := range f.Children {
			if out, ok, err := planFilter(ctx, c, mayPlanOr, leaf); ok || err != nil {
				return out, ok, err
			}
		}
	case filterOr:
		if mayPlanOr != nil {
			plan, err := mayPlanOr(len(f.Children))
			if err != nil {
				return nil, true, err
			}
			if !plan {
				return nil, false, nil
			}
		}
		var all []T
		for _, c := range f.Children {
			if err := ctx.Err(); err != nil {
				return nil, true, err
			}
			out, ok, err := planFilter(ctx, c, mayPlanOr, leaf)
			if !ok || err != nil {
				return nil, false, err
			}
			all = append(all, out...)
		}
		return all, true, nil
	case filterEquality, filterApprox:
		return leaf(eqAttr(f))
	}
	return nil, false, nil
}

// found is a planned lookup of one entry: none when it is not there.
func found[T any](x T, err error) ([]T, bool, error) {
	if errors.Is(err, directory.ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	return []T{x}, true, nil
}
