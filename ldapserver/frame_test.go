package ldapserver

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

func packets(p *ber.Packet) int {
	n := 1
	for _, c := range p.Children {
		n += packets(c)
	}
	return n
}

func searchFrame(t testing.TB, id int64, filter string) []byte {
	t.Helper()
	f, err := ldap.CompileFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, appSearchRequest, nil, "")
	op.AppendChild(octets("ou=groups,dc=school,dc=example", ""))
	for _, v := range []int64{2, 0, 0, 0} {
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, v, ""))
	}
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	op.AppendChild(f)
	attrs := ber.NewSequence("")
	attrs.AppendChild(octets("cn", ""))
	op.AppendChild(attrs)
	return envelope(id, op)
}

// TestCountElementsAndHeader: the scan that refuses an over-complex
// message counts what the decoder would build, and reads the id and the
// operation the refusal answers.
func TestCountElementsAndHeader(t *testing.T) {
	for _, filter := range []string{"(uid=a)", "(&(objectClass=posixGroup)(|(memberUid=a)(member=uid=a,ou=people,dc=x)))",
		"(cn=a*b*c)", "(|" + strings.Repeat("(member=uid=p,ou=people,dc=school,dc=example)", 600) + ")"} {
		frame := searchFrame(t, 70000, filter)
		p, err := ber.DecodePacketErr(frame)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := countElements(frame, 1<<20), packets(p); got != want {
			t.Errorf("%.40s: counted %d elements, the decoder builds %d", filter, got, want)
		}
		if got := countElements(frame, 10); got != 11 && packets(p) > 10 {
			t.Errorf("%.40s: a limit of 10 counted %d, want the scan to stop at 11", filter, got)
		}
		id, op, ok := frameHeader(frame)
		if !ok || id != 70000 || op != appSearchRequest {
			t.Errorf("%.40s: header %d %d %v, want 70000, search", filter, id, op, ok)
		}
	}
}

// FuzzFrameHeader: for every message the decoder accepts, the header
// read without decoding names the same id and operation; for any bytes,
// the scan does not panic.
func FuzzFrameHeader(f *testing.F) {
	seedsFromTestdata(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		countElements(data, 1<<16)
		frameHeader(data)
		frame, err := readFrame(bufio.NewReader(bytes.NewReader(data)), 64<<10)
		if err != nil {
			return
		}
		m, err := decode(frame)
		if err != nil {
			return
		}
		id, op, ok := frameHeader(frame)
		if ok && (id != m.id || op != m.tag) {
			t.Fatalf("header read %d/%d, decoder %d/%d", id, op, m.id, m.tag)
		}
	})
}
