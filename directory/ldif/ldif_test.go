package ldif

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t *testing.T, s string) ([]Entry, error) {
	t.Helper()
	r := NewReader(strings.NewReader(s))
	var out []Entry
	for {
		e, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

// The shape slapcat writes: a version line absent, base64 values for
// userPassword and non-ASCII names, long values folded at 78 columns,
// comments between records.
const slapcatShape = "# a comment\n" +
	"#  continued\n" +
	"dn: dc=school,dc=test\r\n" +
	"objectClass: dcObject\n" +
	"\n\n" +
	"dn: uid=jsmith,ou=people,dc=school,dc=test\n" +
	"uid: jsmith\n" +
	"cn:: U2nDom4gSm9uZXM=\n" +
	"userPassword:: e1NTSEF9d3Bpa1lodllGWnRBdHJlQlJtY0hRbVh0\n" +
	" OHFLWVBQc2M=\n" +
	"description: a long line that\n" +
	"  goes on\n" +
	"employeeNumber:1234\n"

func TestReadSlapcatShape(t *testing.T) {
	es, err := readAll(t, slapcatShape)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	e := es[1]
	if e.DN != "uid=jsmith,ou=people,dc=school,dc=test" || e.Line != 7 {
		t.Errorf("dn %q at line %d", e.DN, e.Line)
	}
	for name, want := range map[string]string{
		"cn": "Siân Jones", "USERPASSWORD": "{SSHA}wpikYhvYFZtAtreBRmcHQmXt8qKYPPsc",
		"description": "a long line that goes on", "employeeNumber": "1234", "mail": "",
	} {
		if got := e.First(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !es[0].Has("objectclass", "DCOBJECT") {
		t.Error("objectClass not found without regard to case")
	}
}

func TestReadRefuses(t *testing.T) {
	for _, c := range []struct {
		in   string
		want error
	}{
		{"uid: x\n", ErrSyntax},
		{" dn: x\n", ErrSyntax},
		{"dn: a\ndn: b\n", ErrSyntax},
		{"dn: a\nnocolon\n", ErrSyntax},
		{"dn: a\nbad name: x\n", ErrSyntax},
		{"dn: a\ncn:: !!!\n", ErrSyntax},
		{"dn: a\nchangetype: modify\n", ErrUnsupported},
		{"dn: a\njpegPhoto:< file:///etc/shadow\n", ErrUnsupported},
		{"version: 2\ndn: a\n", ErrUnsupported},
		{"dn: a\ncn: " + strings.Repeat("x", MaxLineBytes) + "\n", ErrTooLarge},
		{"dn: a\n" + strings.Repeat("cn: "+strings.Repeat("x", 1000)+"\n", MaxEntryBytes/1000+1), ErrTooLarge},
		{"dn: a\n" + strings.Repeat("c: x\n", MaxAttrs+1), ErrTooLarge},
	} {
		if _, err := readAll(t, c.in); !errors.Is(err, c.want) {
			t.Errorf("%.40q: err %v, want %v", c.in, err, c.want)
		}
	}
}

// ldbsearch and ldapsearch print search references and the result after
// the entries; they are not entries.
func TestSkipsReferencesAndResults(t *testing.T) {
	in := "# record 1\ndn: CN=a\ncn: a\n\n# Referral\nref: ldap:///CN=Configuration,DC=x\n\n# returned 2 records\n\n# search result\nsearch: 2\nresult: 0 Success\n\ndn: CN=b\ncn: b\n"
	es, err := readAll(t, in)
	if err != nil || len(es) != 2 || es[1].DN != "CN=b" {
		t.Fatalf("%+v, %v", es, err)
	}
}

func TestVersionLineAndNoFinalNewline(t *testing.T) {
	es, err := readAll(t, "version: 1\n\ndn: cn=a\ncn: a")
	if err != nil || len(es) != 1 || es[0].First("cn") != "a" {
		t.Fatalf("%+v, %v", es, err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte(slapcatShape))
	f.Add([]byte("version: 1\ndn: cn=a\nunicodePwd:: iEb36u6PsRetBr3YMLdYbA==\n\n"))
	f.Add([]byte("dn: a\n b\n#c\n d\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		for range 10_000 {
			e, err := r.Next()
			if err != nil {
				return
			}
			if e.Line == 0 || len(e.Attrs) > MaxAttrs {
				t.Fatalf("entry %+v", e)
			}
		}
		t.Fatal("more entries than the input could hold")
	})
}
