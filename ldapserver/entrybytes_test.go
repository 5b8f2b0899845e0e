package ldapserver

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

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

// TestResultBytesMatchPackets holds the LDAPResult written straight into
// bytes equal to the packets' encoding.
func TestResultBytesMatchPackets(t *testing.T) {
	for _, id := range []int64{0, 1, 127, 128, 255, 256, 1<<31 - 1} {
		for _, code := range []int{resultSuccess, resultSizeLimitExceeded, resultInvalidCredentials, resultOther} {
			for _, diag := range []string{"", "no such object: uid=x", strings.Repeat("d", 200), strings.Repeat("é", 40000)} {
				want := envelope(id, result(appSearchDone, code, "cn=x", diag))
				if got := appendResultMessage(nil, id, appSearchDone, code, "cn=x", diag); !bytes.Equal(got, want) {
					t.Fatalf("id %d code %d diag %d bytes:\n%x\n%x", id, code, len(diag), got, want)
				}
			}
		}
	}
}

// TestBatchBound checks that a search's responses are written together
// while small, and that however many there are, no more than batchBound
// and one message is held or written at once.
func TestBatchBound(t *testing.T) {
	var writes [][]byte
	w := &batch{write: func(b []byte) bool { writes = append(writes, slices.Clone(b)); return true }}
	msg := func(i, n int) []byte { return bytes.Repeat([]byte{byte(i)}, n) }

	w.b = append(w.b, msg(1, 300)...)
	if !w.flushIfFull() || len(writes) != 0 {
		t.Fatalf("a small entry was written on its own: %d writes", len(writes))
	}
	w.b = append(w.b, msg(2, 14)...)
	w.flush()
	if len(writes) != 1 || len(writes[0]) != 314 {
		t.Fatalf("an entry and its done: %d writes, want one of 314 bytes", len(writes))
	}

	writes = nil
	var sent []byte
	for i := range 100 {
		m := msg(i, 10_000)
		sent = append(sent, m...)
		w.grow(len(m))
		w.b = append(w.b, m...)
		if cap(w.b) > 2*batchBound {
			t.Fatalf("holding %d bytes, more than %d", cap(w.b), 2*batchBound)
		}
		w.flushIfFull()
	}
	w.flush()
	var got []byte
	for _, b := range writes {
		if len(b) > batchBound+10_000 {
			t.Fatalf("one write of %d bytes, more than the bound and a message", len(b))
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, sent) {
		t.Fatal("the messages written are not those added, in order")
	}
	if len(writes) < len(sent)/(batchBound+10_000) {
		t.Fatalf("%d writes for %d bytes", len(writes), len(sent))
	}

	// An entry far larger than the bound is written, and not kept.
	w.b = append(w.b, msg(3, 3*batchBound)...)
	w.flushIfFull()
	if w.b != nil {
		t.Fatalf("kept %d bytes after writing a large entry", cap(w.b))
	}
}

// TestPlainDNParsesAsParser checks parseDN's shortcut for plain DNs
// against the parser.
func TestPlainDNParsesAsParser(t *testing.T) {
	for _, dn := range []string{"dc=school,dc=example", "uid=J.Bloggs_2,ou=People,DC=School,DC=Example",
		"cn=7a-maths,ou=groups,dc=x", "o=x", "ou=a-b.c,o=x1"} {
		if !plainDN(dn) {
			t.Fatalf("%s is plain", dn)
		}
		got, err := parseDN(dn)
		if err != nil {
			t.Fatal(err)
		}
		if want := parsedDN(t, dn); !slices.Equal(got, want) {
			t.Fatalf("%s: %q, the parser %q", dn, got, want)
		}
	}
}

func parsedDN(t testing.TB, s string) []string {
	d, err := ldap.ParseDN(s)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range d.RDNs {
		out = append(out, strings.ToLower(r.String()))
	}
	return out
}

// TestNeededEntriesSendAndMatchAsWhole checks that an entry built with only
// the attributes a search needs is sent as the whole entry is and matches
// every filter as the whole entry does.
func TestNeededEntriesSendAndMatchAsWhole(t *testing.T) {
	tr := &tree{base: "dc=school,dc=example", baseNorm: "dc=school,dc=example", baseRDNs: []string{"dc=school", "dc=example"}}
	people := []directory.Account{
		{ID: 7, Username: "jbloggs", Role: directory.RoleStaff, GivenName: "Jo", FamilyName: "Bloggs", DisplayName: "Joey Bloggs",
			Email: "jo@school.example", School: "north", AlsoSchools: []string{"south"}, UIDNumber: 10007, GIDNumber: 10007,
			UUID: "0b3c", CreatedAt: time.Unix(1700000000, 0), UpdatedAt: time.Unix(1700000100, 0), LeaveDate: time.Unix(1800000000, 0)},
		{ID: 8, Username: "apupil", Role: directory.RolePupil, GivenName: "Amir", FamilyName: "Pupil", UIDNumber: 10008, GIDNumber: 10008,
			HomeDirectory: "/srv/home/apupil", LoginShell: "/bin/zsh", Status: directory.StatusDisabled},
		{ID: 9, Username: "printer", Role: directory.RoleService, UUID: "99"},
	}
	groups := []directory.Group{{Name: "staff"}, {Name: "7a"}}
	group := directory.Group{Name: "staff", GIDNumber: 5000, Description: "All staff"}
	members := []string{"jbloggs", "apupil"}
	lists := [][]string{nil, {"*"}, {"+"}, {"*", "+"}, {"1.1"}, {"uid", "uidNumber", "gidNumber", "homeDirectory", "loginShell", "gecos"},
		{"uid", "uidNumber", "gidNumber", "memberOf"}, {"cn", "gidNumber"}, {"CN", "memberUid", "member"}, {"entryDN", "createTimestamp"},
		{"sn", "givenName", "displayName", "mail", "ou", "employeeType", "shadowExpire", "description"}, {"nosuch"}}
	filters := []string{"(objectClass=*)", "(&(objectClass=posixAccount)(uid=apupil))", "(&(objectClass=posixGroup)(memberUid=apupil))",
		"(cn=joey bloggs)", "(gecos=*)", "(displayName=*Bloggs)", "(|(uidNumber=10008)(gidNumber=5000))", "(memberOf=cn=7a,ou=groups,dc=school,dc=example)",
		"(!(shadowExpire=1))", "(homeDirectory=/srv/home/apupil)", "(createTimestamp>=20230101000000Z)", "(member=uid=apupil,ou=people,dc=school,dc=example)",
		"(ou=south)", "(sn=Pupil)", "(givenName~=amir)", "(description=All staff)", "(entryDN=uid=printer,ou=services,dc=school,dc=example)",
		"(modifyTimestamp=*)", "(loginShell=/bin/zsh)", "(mail=jo@school.example)", "(employeeType=pupil)"}
	for _, list := range lists {
		sel := newSelection(list)
		for _, fs := range filters {
			p, err := ldap.CompileFilter(fs)
			if err != nil {
				t.Fatal(err)
			}
			f, err := compileFilter(p, DefaultMaxFilterTerms)
			if err != nil {
				t.Fatal(err)
			}
			n := newNeed(sel, p)
			pairs := [][2]*entry{{tr.groupEntry(group, members), tr.groupEntryFor(group, members, true, n)},
				{tr.groupEntryWith(group, members, false), tr.groupEntryFor(group, members, false, n)}}
			for _, a := range people {
				pairs = append(pairs, [2]*entry{tr.personEntry(a, groups), tr.personEntryFor(a, groups, n)})
			}
			for _, pair := range pairs {
				whole, built := pair[0], pair[1]
				if w, b := appendEntryMessage(nil, 2, whole, sel, false), appendEntryMessage(nil, 2, built, sel, false); !bytes.Equal(w, b) {
					t.Fatalf("%s with %q and %s: sent\n%x\nthe whole entry\n%x", whole.dn, list, fs, b, w)
				}
				if w, b := f.matches(whole), f.matches(built); w != b {
					t.Fatalf("%s with %q: %s matches %v, the whole entry %v", whole.dn, list, fs, b, w)
				}
			}
		}
	}
}
