package ldapserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/directory"
)

// referenceMatch is the evaluator as it was before filters were
// compiled: every value prepared again at every comparison. The compiled
// filter must agree with it on every filter and entry.
func referenceMatch(p *ber.Packet, e *entry) tri {
	switch p.Tag {
	case filterAnd:
		out := triTrue
		for _, c := range p.Children {
			switch referenceMatch(c, e) {
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
			switch referenceMatch(c, e) {
			case triTrue:
				return triTrue
			case triUndefined:
				out = triUndefined
			}
		}
		return out
	case filterNot:
		switch referenceMatch(p.Children[0], e) {
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
		var subs []substring
		for _, s := range p.Children[1].Children {
			subs = append(subs, substring{tag: s.Tag, part: foldValue(s.Data.String())})
		}
		for _, v := range vals {
			if substringMatch(foldValue(v), subs) {
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

func testEntries() []*entry {
	t := &tree{base: "dc=School,dc=example", baseNorm: "dc=school,dc=example", baseRDNs: []string{"dc=school", "dc=example"}}
	person := t.personEntry(directory.Account{Username: "apupil", Role: directory.RolePupil, GivenName: "Amir", FamilyName: "Pupil",
		UIDNumber: 10001, GIDNumber: 10001, Email: "a.pupil@school.example"}, []directory.Group{{Name: "7a"}, {Name: "pupils"}})
	group := t.groupEntry(directory.Group{ID: 3, Name: "pupils", GIDNumber: 20003, Description: "All  Pupils"},
		[]string{"apupil", "bpupil", "jteacher"})
	return []*entry{person, group}
}

// wireFilter compiles an RFC 4515 string as the server receives it.
func wireFilter(t testing.TB, s string) *ber.Packet {
	t.Helper()
	f, err := ldap.CompileFilter(s)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	p, err := ber.DecodePacketErr(f.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := validFilter(p, 0); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return p
}

var filterCases = []string{
	"(uid=apupil)", "(uid=APUPIL )", "(|(uid=x)(uid=apupil))", "(&(objectClass=posixAccount)(uid=apupil))",
	"(member=uid=apupil,ou=people,dc=school,dc=example)",
	"(member=UID=bpupil, ou=People, DC=School, DC=Example)",
	"(|(member=uid=zz,ou=people,dc=school,dc=example)(member=uid=jteacher,ou=people,dc=school,dc=example))",
	"(|(member=uid=zz,ou=people,dc=school,dc=example)(member=uid=yy,ou=people,dc=school,dc=example))",
	"(|(memberOf=cn=7a,ou=groups,dc=school,dc=example)(memberOf=cn=8b,ou=groups,dc=school,dc=example))",
	"(|(uidNumber=10001)(uidNumber=x)(uidNumber= 10001))", "(|(gidNumber=1)(gidNumber=x))", "(|(nosuch=1)(nosuch=2))",
	"(|(nosuch=1)(uid=nobody))", "(!(|(uid=a)(uid=b)))", "(uidNumber>=10000)", "(uidNumber<=9)", "(uid>=b)", "(uid<=b)",
	"(cn=*pup*)", "(cn=a*)", "(description=all p*)", "(mail=*@school.example)", "(uid=*)", "(nosuch=*)",
	"(cn~=pupils)", "(|(cn~=x)(cn~=pupils))", "(memberUid=bpupil)", "(|(memberUid=x)(memberUid=jteacher))",
	"(&(|(objectClass=posixGroup)(objectClass=groupOfNames))(|(memberUid=bpupil)(member=uid=bpupil,ou=people,dc=school,dc=example)))",
	"(uidNumber=abc)", "(entryDN=uid=apupil,ou=people,dc=school,dc=example)",
}

// TestCompiledFilterAgreesWithReference: preparing values once and
// merging an OR's equalities into a set changes no answer.
func TestCompiledFilterAgreesWithReference(t *testing.T) {
	for _, e := range testEntries() {
		for _, s := range filterCases {
			p := wireFilter(t, s)
			f, err := compileFilter(p, DefaultMaxFilterTerms)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			m := matcher{e: e}
			if got, want := m.match(f), referenceMatch(p, e); got != want {
				t.Errorf("%s on %s: compiled %d, reference %d", s, e.dn, got, want)
			}
		}
	}
}

func FuzzCompiledFilter(f *testing.F) {
	for _, s := range filterCases {
		f.Add(s)
	}
	entries := testEntries()
	f.Fuzz(func(t *testing.T, s string) {
		lf, err := ldap.CompileFilter(s)
		if err != nil {
			return
		}
		p, err := ber.DecodePacketErr(lf.Bytes())
		if err != nil || validFilter(p, 0) != nil {
			return
		}
		cf, err := compileFilter(p, DefaultMaxFilterTerms)
		if err != nil {
			return
		}
		for _, e := range entries {
			m := matcher{e: e}
			if got, want := m.match(cf), referenceMatch(p, e); got != want {
				t.Fatalf("%q on %s: compiled %d, reference %d", s, e.dn, got, want)
			}
		}
	})
}

// FuzzNormDN: the shortcut for plain DNs gives what parsing gives.
func FuzzNormDN(f *testing.F) {
	for _, s := range []string{"uid=apupil,ou=people,dc=school,dc=example", "UID=A.B_c-d,OU=People", "cn=a=b", "cn=#41",
		"cn= a", "cn=a ,dc=b", "cn=a+sn=b", `cn=a\,b`, "2.5.4.3=x", "a=b,,c=d", "", "cn=", "=x", "x-1=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainDN(s) {
			if got, want := strings.ToLower(s), parsedNormDN(s); got != want {
				t.Fatalf("normDN(%q): shortcut %q, parsed %q", s, got, want)
			}
		}
	})
}

// TestFilterTermsBounded: a filter of more parts than the server allows
// is refused before any entry is matched; one at the bound is accepted.
func TestFilterTermsBounded(t *testing.T) {
	or := func(n int) string {
		var b strings.Builder
		b.WriteString("(|")
		for i := range n {
			fmt.Fprintf(&b, "(member=uid=p%d,ou=people,dc=school,dc=example)", i)
		}
		b.WriteString(")")
		return b.String()
	}
	if _, err := compileFilter(wireFilter(t, or(99)), 100); err != nil { // the OR and 99 terms
		t.Fatalf("100 parts with a bound of 100: %v", err)
	}
	if _, err := compileFilter(wireFilter(t, or(100)), 100); !errors.Is(err, errFilterTooComplex) {
		t.Fatalf("101 parts with a bound of 100: %v, want errFilterTooComplex", err)
	}
	if _, err := compileFilter(wireFilter(t, "(cn=a*b*c*d*e)"), 5); !errors.Is(err, errFilterTooComplex) {
		t.Fatalf("a substring filter of 5 parts with a bound of 5: %v, want errFilterTooComplex", err)
	}
	// An OR of thousands of DNs costs one set lookup per member value.
	f, err := compileFilter(wireFilter(t, or(4000)), 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.kids) != 1 || len(f.kids[0].set) != 4000 {
		t.Fatalf("4000 member terms compiled into %d children, want one set of 4000", len(f.kids))
	}
}

// TestSendIfStopsWhenContextEnds: a search abandoned or out of time stops
// at the next entry, however many remain.
func TestSendIfStopsWhenContextEnds(t *testing.T) {
	f, err := compileFilter(wireFilter(t, "(objectClass=*)"), 10)
	if err != nil {
		t.Fatal(err)
	}
	s := &search{filter: f}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.sendIf(ctx, testEntries()[0]); !errors.Is(err, context.Canceled) {
		t.Fatalf("sendIf after cancel: %v, want context.Canceled", err)
	}
	if s.sent != 0 {
		t.Fatalf("sent %d entries after cancel", s.sent)
	}
}

// announcingReader announces a 261,888-byte message, sends nothing more,
// and records how much the reader of it had allocated by the time it
// asked for the body.
type announcingReader struct {
	sent      bool
	start     uint64
	allocated uint64
}

func (r *announcingReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, []byte{0x30, 0x83, 0x03, 0xff, 0x00}), nil
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.allocated = ms.TotalAlloc - r.start
	return 0, io.EOF
}

// TestReadFrameAllocatesAsBytesArrive: five bytes announcing a quarter of
// a megabyte do not make the reader allocate it.
func TestReadFrameAllocatesAsBytesArrive(t *testing.T) {
	r := &announcingReader{}
	br := bufio.NewReader(r)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.start = ms.TotalAlloc
	if _, err := readFrame(br, DefaultMaxMessage); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("readFrame: %v, want io.ErrUnexpectedEOF", err)
	}
	if r.allocated > 64<<10 {
		t.Fatalf("reading 5 bytes of an announced 261,888 allocated %d bytes, want at most 64 KiB", r.allocated)
	}
}

// TestReadFrameWhole: a message that arrives in pieces is read whole,
// whatever its size up to the bound.
func TestReadFrameWhole(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, frameStep - 1, frameStep, frameStep + 1, 3*frameStep + 7, 200_000} {
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i)
		}
		msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
		msg.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(body), ""))
		want := msg.Bytes()
		pr, pw := io.Pipe()
		go func() {
			for b := want; len(b) > 0; {
				k := min(len(b), 1000)
				pw.Write(b[:k])
				b = b[k:]
			}
			pw.Close()
		}()
		got, err := readFrame(bufio.NewReader(pr), DefaultMaxMessage)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if string(got) != string(want) {
			t.Fatalf("%d bytes: read %d bytes, not the message", n, len(got))
		}
	}
}

// TestSearchSlots: searches beyond the server's or one address's share
// wait, however many connections the address opens, and a place freed is
// taken.
func TestSearchSlots(t *testing.T) {
	s := &Server{cfg: Config{MaxSearches: 2, MaxSearchesPerAddr: 1}, searches: make(chan struct{}, 2),
		searchSources: map[netip.Prefix]*sourceSlots{}}
	from := func(ip string) *conn {
		return &conn{s: s, src: netip.PrefixFrom(netip.MustParseAddr(ip), 32)}
	}
	a1, a2, b, c := from("10.0.0.1"), from("10.0.0.1"), from("10.0.0.2"), from("10.0.0.3")
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	relA, ok := a1.searchSlot(context.Background())
	if !ok {
		t.Fatal("first search refused")
	}
	if _, ok := a2.searchSlot(short()); ok {
		t.Fatal("a second connection from one address ran a search beside the first, over MaxSearchesPerAddr 1")
	}
	relB, ok := b.searchSlot(context.Background())
	if !ok {
		t.Fatal("another address's search refused while the server had room")
	}
	if _, ok := c.searchSlot(short()); ok {
		t.Fatal("a third search ran, over MaxSearches 2")
	}
	relA()
	relC, ok := c.searchSlot(context.Background())
	if !ok {
		t.Fatal("a freed place was not taken")
	}
	relB()
	relC()
	if len(s.searches) != 0 || len(s.searchSources) != 0 {
		t.Fatalf("places not all given back: %d running, %d addresses remembered", len(s.searches), len(s.searchSources))
	}
}

// TestLongMemberListsMatchInAnyOrder: a member of a long list is matched
// whether the list is sorted (looked up by binary search) or not (looked
// through), and a non-member is not.
func TestLongMemberListsMatchInAnyOrder(t *testing.T) {
	tr := &tree{base: "dc=school,dc=example", baseNorm: "dc=school,dc=example", baseRDNs: []string{"dc=school", "dc=example"}}
	var members []string
	for i := range 500 {
		members = append(members, fmt.Sprintf("user%03d", i))
	}
	reversed := slices.Clone(members)
	slices.Reverse(reversed)
	for _, list := range [][]string{members, reversed} {
		e := tr.groupEntry(directory.Group{Name: "y7", GIDNumber: 5000}, list)
		for fs, want := range map[string]bool{
			"(memberUid=user123)": true, "(memberUid=USER499)": true, "(memberUid=nobody)": false,
			"(|(memberUid=user000)(memberUid=nobody))": true, "(|(memberUid=x)(memberUid=y))": false,
			"(!(memberUid=user250))": false, "(member=uid=user007,ou=people,dc=school,dc=example)": true,
		} {
			p, err := ldap.CompileFilter(fs)
			if err != nil {
				t.Fatal(err)
			}
			f, err := compileFilter(p, DefaultMaxFilterTerms)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.matches(e); got != want {
				t.Errorf("%s on %d members (sorted %v): %v, want %v", fs, len(list), slices.IsSorted(list), got, want)
			}
		}
	}
}

// TestFoldingShortcutsAgree holds foldedEqual and inLower to foldValue and
// strings.ToLower.
func TestFoldingShortcutsAgree(t *testing.T) {
	classes := map[string]bool{"posixaccount": true, "top": true}
	for _, v := range []string{"posixAccount", "POSIXACCOUNT", "posix Account", " posixaccount", "posixaccounT ", "Top", "tóp", "topp", "",
		"K", "\u212aelvin", strings.Repeat("a", 40)} {
		for _, folded := range []string{"posixaccount", "top", "posix account", "kelvin"} {
			if got, want := foldedEqual([]byte(v), folded), foldValue(v) == folded; got != want {
				t.Errorf("foldedEqual(%q, %q) = %v, foldValue says %v", v, folded, got, want)
			}
		}
		if got, want := inLower(classes, v), classes[strings.ToLower(v)]; got != want {
			t.Errorf("inLower(%q) = %v, want %v", v, got, want)
		}
	}
}
