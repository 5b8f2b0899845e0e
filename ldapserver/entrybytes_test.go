package ldapserver

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

// TestEntryBytesMatchPackets: the hot path's encoder writes exactly what
// the packet encoder does, for people and groups, every selection, short
// and long values (lengths of one, two and three bytes) and message ids of
// every width.
func TestEntryBytesMatchPackets(t *testing.T) {
	tr := &tree{base: "dc=school,dc=example", baseNorm: "dc=school,dc=example", baseRDNs: []string{"dc=school", "dc=example"}}
	a := directory.Account{ID: 7, Username: "jbloggs", Role: directory.RoleStaff, GivenName: "Jo", FamilyName: "Blóggs",
		Email: "jo@school.example", UIDNumber: 10007, GIDNumber: 10007, UUID: "0b3c…", CreatedAt: time.Unix(1700000000, 0)}
	var many []string
	for i := range 3000 {
		many = append(many, "member"+strings.Repeat("x", i%40))
	}
	entries := []*entry{
		tr.personEntry(a, []directory.Group{{Name: "staff"}, {Name: strings.Repeat("g", 300)}}),
		tr.groupEntry(directory.Group{Name: "staff", GIDNumber: 5000, Description: strings.Repeat("d", 200)}, many),
		tr.groupEntryWith(directory.Group{Name: "y7", GIDNumber: 5001}, []string{"amy"}, false),
	}
	entries = append(entries, tr.fixedEntries()...)
	for _, e := range entries {
		for _, attrs := range [][]string{nil, {"*", "+"}, {"uid", "uidNumber", "memberOf"}, {"1.1"}, {"cn", "gidNumber"}} {
			for _, typesOnly := range []bool{false, true} {
				for _, id := range []int64{0, 1, 127, 128, 255, 256, 65535, 1 << 30, 1<<31 - 1} {
					sel := newSelection(attrs)
					want := envelope(id, encodeEntry(e, sel, typesOnly))
					got := appendEntryMessage(nil, id, e, sel, typesOnly)
					if !bytes.Equal(got, want) {
						t.Fatalf("%s %v typesOnly=%v id %d:\n got %x\nwant %x", e.dn, attrs, typesOnly, id, got[:min(len(got), 64)], want[:min(len(want), 64)])
					}
					if n := entryMessageSize(id, e, sel, typesOnly); n != len(want) {
						t.Fatalf("%s: size %d, written %d", e.dn, n, len(want))
					}
				}
			}
		}
	}
}

// BenchmarkEntryEncode compares building and encoding an nslcd search's
// entry with the packet encoder and straight into bytes.
func BenchmarkEntryEncode(b *testing.B) {
	tr := &tree{base: "dc=school,dc=example", baseNorm: "dc=school,dc=example", baseRDNs: []string{"dc=school", "dc=example"}}
	a := directory.Account{ID: 7, Username: "jbloggs", Role: directory.RoleStaff, GivenName: "Jo", FamilyName: "Bloggs",
		Email: "jo@school.example", UIDNumber: 10007, GIDNumber: 10007, UUID: "0b3c", CreatedAt: time.Unix(1700000000, 0)}
	sel := newSelection([]string{"uid", "uidNumber", "gidNumber", "homeDirectory", "loginShell", "gecos"})
	b.Run("packets", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = envelope(int64(i), encodeEntry(tr.personEntry(a, nil), sel, false))
		}
	})
	b.Run("bytes", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			e := tr.personEntry(a, nil)
			_ = appendEntryMessage(make([]byte, 0, entryMessageSize(int64(i), e, sel, false)), int64(i), e, sel, false)
		}
	})
}
