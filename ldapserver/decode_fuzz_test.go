package ldapserver

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/directory"
)

func seedsFromTestdata(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.ber")
	if len(files) == 0 {
		f.Fatal("no testdata/*.ber seeds")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if len(b) > 3 {
			f.Add(b[:len(b)/2])
			f.Add(b[1:])
		}
	}
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00})
}

// FuzzDecode feeds arbitrary bytes through every decoder and the filter
// evaluator: errors are fine, panics are not.
func FuzzDecode(f *testing.F) {
	seedsFromTestdata(f)
	t := &tree{base: "dc=school,dc=example", baseNorm: "dc=school,dc=example", baseRDNs: []string{"dc=school", "dc=example"}}
	e := t.personEntry(directory.Account{Username: "apupil", Role: directory.RolePupil, GivenName: "Amir", FamilyName: "Pupil", UIDNumber: 10001, GIDNumber: 10001},
		[]directory.Group{{Name: "7a"}})
	f.Fuzz(func(tt *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for range 16 {
			frame, err := readFrame(r, 64<<10)
			if err != nil {
				return
			}
			checkDecodeAgrees(tt, frame)
			m, err := decode(frame)
			if err != nil {
				continue
			}
			switch m.tag {
			case appBindRequest:
				m.bindRequest()
			case appSearchRequest:
				if s, err := m.searchRequest(); err == nil {
					if f, err := compileFilter(s.filter, DefaultMaxFilterTerms); err == nil {
						f.matches(e)
					}
					filterUses(s.filter, "memberof")
					sel := newSelection(s.attributes)
					want := envelope(m.id, encodeEntry(e, sel, s.typesOnly))
					if got := appendEntryMessage(nil, m.id, e, sel, s.typesOnly); !bytes.Equal(got, want) {
						tt.Fatalf("the entry written straight to bytes differs from the packets' encoding:\n%x\n%x", got, want)
					}
				}
			case appExtendedRequest:
				if x, err := decodeExtended(m.op); err == nil {
					decodePasswdModify(x.value)
				}
			case appAbandonRequest:
				abandonID(m.op)
			}
			for _, c := range m.controls {
				decodePaging(c.value)
				parseCookie(c.value)
			}
		}
	})
}

// FuzzDecodeRequestAgrees holds decodeRequest to go-asn1-ber's reading of
// the same bytes: whatever it accepts, decodeMessage and the request
// decoders accept and read the same.
func FuzzDecodeRequestAgrees(f *testing.F) {
	seedsFromTestdata(f)
	for _, b := range requestSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for range 16 {
			frame, err := readFrame(r, 64<<10)
			if err != nil {
				return
			}
			checkDecodeAgrees(t, frame)
		}
	})
}

// TestDecodeRequestAgrees checks decodeRequest against go-asn1-ber on what
// real clients send, and that it reads them rather than leaving them to
// the slow path.
func TestDecodeRequestAgrees(t *testing.T) {
	for i, b := range requestSeeds(t) {
		if _, ok := decodeRequest(b); !ok {
			t.Fatalf("request %d was left to go-asn1-ber: %x", i, b)
		}
		checkDecodeAgrees(t, b)
	}
}

// requestSeeds are requests as go-ldap writes them: nslcd's and SSSD's
// searches, with and without the paged results control, binds, unbind.
func requestSeeds(t testing.TB) [][]byte {
	msg := func(id int64, op *ber.Packet, controls ...ldap.Control) []byte {
		p := ber.NewSequence("")
		p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
		p.AppendChild(op)
		if len(controls) > 0 {
			cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "")
			for _, c := range controls {
				cs.AppendChild(c.Encode())
			}
			p.AppendChild(cs)
		}
		return p.Bytes()
	}
	search := func(filter string, attrs []string, typesOnly bool) *ber.Packet {
		f, err := ldap.CompileFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, appSearchRequest, nil, "")
		req.AppendChild(octets("dc=school,dc=example", ""))
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 2, ""))
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, ""))
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 500, ""))
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 30, ""))
		req.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, typesOnly, ""))
		req.AppendChild(f)
		as := ber.NewSequence("")
		for _, a := range attrs {
			as.AppendChild(octets(a, ""))
		}
		req.AppendChild(as)
		return req
	}
	bind := func(name, pw string) *ber.Packet {
		p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, appBindRequest, nil, "")
		p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, ""))
		p.AppendChild(octets(name, ""))
		p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, ""))
		return p
	}
	attrs := []string{"uid", "userPassword", "uidNumber", "gidNumber", "cn", "homeDirectory", "loginShell", "gecos", "objectClass"}
	return [][]byte{
		msg(1, bind("uid=bench-reader,ou=services,dc=school,dc=example", "Bench-Otter-Lamp-62")),
		msg(1<<31-1, bind("", "")),
		msg(2, search("(&(objectClass=posixAccount)(uid=apupil))", attrs, false)),
		msg(3, search("(&(objectClass=posixGroup)(|(memberUid=apupil)(member=uid=apupil,ou=people,dc=school,dc=example)))", []string{"cn", "gidNumber"}, false)),
		msg(4, search("(&(objectClass=posixAccount)(uid=*)(!(uidNumber=0))(uidNumber>=1000)(cn~=amir)(sn<=z)(mail=a*b*c))", nil, true),
			ldap.NewControlPaging(500), ldap.NewControlManageDsaIT(true)),
		msg(5, search("(cn:dn:2.4.6.8.10:=Dino)", []string{"1.1"}, false)),
		msg(300, search("(objectClass=*)", []string{"*", "+"}, false), ldap.NewControlBeheraPasswordPolicy()),
		msg(6, ber.Encode(ber.ClassApplication, ber.TypePrimitive, appUnbindRequest, nil, "")),
	}
}

// checkDecodeAgrees fails when decodeRequest reads frame and go-asn1-ber
// with the request decoders refuses it or reads something else.
func checkDecodeAgrees(t testing.TB, frame []byte) {
	t.Helper()
	m, ok := decodeRequest(frame)
	if !ok {
		return
	}
	old, err := decodeMessage(frame)
	if err != nil {
		t.Fatalf("decodeRequest read what go-asn1-ber refuses (%v): %x", err, frame)
	}
	if m.id != old.id || m.tag != old.tag || len(m.controls) != len(old.controls) {
		t.Fatalf("message %d/%d/%d controls, go-asn1-ber %d/%d/%d: %x", m.id, m.tag, len(m.controls), old.id, old.tag, len(old.controls), frame)
	}
	for i, c := range m.controls {
		o := old.controls[i]
		if c.oid != o.oid || c.critical != o.critical || !bytes.Equal(c.value, o.value) {
			t.Fatalf("control %d: %+v, go-asn1-ber %+v: %x", i, c, o, frame)
		}
	}
	switch m.tag {
	case appBindRequest:
		ob, err := decodeBind(old.op)
		if err != nil || *m.bind != ob {
			t.Fatalf("bind %+v, go-asn1-ber %+v (%v): %x", *m.bind, ob, err, frame)
		}
	case appSearchRequest:
		os, err := decodeSearch(old.op)
		s := *m.search
		if err != nil {
			t.Fatalf("decodeRequest read a search that decodeSearch refuses (%v): %x", err, frame)
		}
		if s.base != os.base || s.scope != os.scope || s.sizeLimit != os.sizeLimit || s.timeLimit != os.timeLimit ||
			s.typesOnly != os.typesOnly || !slices.Equal(s.attributes, os.attributes) {
			t.Fatalf("search %+v, go-asn1-ber %+v: %x", s, os, frame)
		}
		if why := samePacket(s.filter, os.filter); why != "" {
			t.Fatalf("filter: %s: %x", why, frame)
		}
	case appUnbindRequest:
	default:
		t.Fatalf("decodeRequest read operation %d", m.tag)
	}
}

// samePacket compares what filters read of two packets: class, type, tag,
// a primitive's content, the children.
func samePacket(a, b *ber.Packet) string {
	if a.ClassType != b.ClassType || a.TagType != b.TagType || a.Tag != b.Tag {
		return fmt.Sprintf("%d/%d/%d, go-asn1-ber %d/%d/%d", a.ClassType, a.TagType, a.Tag, b.ClassType, b.TagType, b.Tag)
	}
	if a.TagType == ber.TypePrimitive && !bytes.Equal(a.Data.Bytes(), b.Data.Bytes()) {
		return fmt.Sprintf("content %q, go-asn1-ber %q", a.Data.Bytes(), b.Data.Bytes())
	}
	if len(a.Children) != len(b.Children) {
		return fmt.Sprintf("%d children, go-asn1-ber %d", len(a.Children), len(b.Children))
	}
	for i := range a.Children {
		if why := samePacket(a.Children[i], b.Children[i]); why != "" {
			return why
		}
	}
	return ""
}
