package ldapserver_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	ldapserver "keystage.dev/keystage/ldapserver"
	"keystage.dev/keystage/ldapserver/ldaptest"
)

const base = ldaptest.Base

func dial(t *testing.T, srv *ldaptest.Server) *ldap.Conn {
	t.Helper()
	l, err := ldap.DialURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func bound(t *testing.T, srv *ldaptest.Server, user, pw string) *ldap.Conn {
	t.Helper()
	l := dial(t, srv)
	if err := l.Bind(user, pw); err != nil {
		t.Fatalf("bind %s: %v", user, err)
	}
	return l
}

func person(name string) string  { return "uid=" + name + ",ou=people," + base }
func service(name string) string { return "uid=" + name + ",ou=services," + base }

func TestBind(t *testing.T) {
	// The failures below stay under every threshold of the lockout.
	srv := ldaptest.Start(t, ldaptest.Options{})
	tests := []struct {
		name, user, pw string
		code           uint16
		diag           string // substring of the diagnostic
	}{
		{"DN", person(ldaptest.Teacher), ldaptest.TeacherPassword, 0, ""},
		{"DN odd case and spaces", "UID=" + ldaptest.Teacher + ", OU=People, DC=School, DC=Example", ldaptest.TeacherPassword, 0, ""},
		{"UPN", ldaptest.Pupil + "@" + ldaptest.Domain, ldaptest.PupilPassword, 0, ""},
		{"bare name", ldaptest.Pupil, ldaptest.PupilPassword, 0, ""},
		{"service DN", service(ldaptest.Service), ldaptest.ServicePassword, 0, ""},
		{"service under people", person(ldaptest.Service), ldaptest.ServicePassword, 49, "data 52e"},
		{"person under services", service(ldaptest.Teacher), ldaptest.TeacherPassword, 49, "data 52e"},
		{"wrong domain", ldaptest.Pupil + "@elsewhere.example", ldaptest.PupilPassword, 49, "data 52e"},
		{"wrong password", person(ldaptest.Pupil), "nope", 49, "data 52e"},
		{"unknown user", person("nobody"), "nope", 49, "data 52e"},
		{"DN outside the base", "uid=" + ldaptest.Pupil + ",ou=people,dc=other", ldaptest.PupilPassword, 49, "data 52e"},
		{"leaver", ldaptest.Leaver, ldaptest.OtherPassword, 49, "data 533"},
		{"suspended", ldaptest.Suspended, ldaptest.OtherPassword, 49, "data 530"},
		{"AUP unsigned", ldaptest.Unsigned, ldaptest.OtherPassword, 49, "data ks1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := dial(t, srv)
			err := l.Bind(tc.user, tc.pw)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("bind: %v", err)
				}
				return
			}
			var le *ldap.Error
			if !errors.As(err, &le) || le.ResultCode != tc.code {
				t.Fatalf("bind: %v; want result %d", err, tc.code)
			}
			if !strings.Contains(le.Err.Error(), tc.diag) {
				t.Errorf("diagnostic %q lacks %q", le.Err.Error(), tc.diag)
			}
			if tc.code == 49 && !strings.HasPrefix(le.Err.Error(), "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data ") {
				t.Errorf("diagnostic %q is not in Active Directory's form", le.Err.Error())
			}
		})
	}
}

// Failed binds from one address on accounts it does not know block the
// address for those accounts, unless it is an exempt application server;
// an account that has signed in from it before keeps working.
func TestAddressLockoutAndExemption(t *testing.T) {
	for _, exempt := range []bool{false, true} {
		srv := ldaptest.Start(t, ldaptest.Options{Config: func(c *ldapserver.Config) {
			if exempt {
				c.LockoutExempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			}
		}})
		l := dial(t, srv)
		if err := l.Bind(ldaptest.Pupil, ldaptest.PupilPassword); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			name := []string{ldaptest.Leaver, ldaptest.Suspended, ldaptest.Unsigned, "nobody1", "nobody2"}[i%5]
			if err := l.Bind(name, fmt.Sprintf("mistyped-%d", i)); !ldap.IsErrorWithCode(err, 49) {
				t.Fatalf("wrong password for %s: %v", name, err)
			}
		}
		if err := l.Bind(ldaptest.Pupil, ldaptest.PupilPassword); err != nil {
			t.Errorf("exempt=%v: an account that knows the address, after 10 failures of others: %v", exempt, err)
		}
		err := l.Bind(ldaptest.Teacher, ldaptest.TeacherPassword)
		switch {
		case exempt && err != nil:
			t.Errorf("exempt address: bind after 10 failures of others: %v", err)
		case !exempt && (!ldap.IsErrorWithCode(err, 49) || !strings.Contains(err.Error(), "data 775") || !strings.Contains(err.Error(), "this device or computer")):
			t.Errorf("address lockout: a new account's bind after 10 failures from the address: %v; want data 775, this device", err)
		}
	}
}

func TestUnauthenticatedBindRefused(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	err := dial(t, srv).UnauthenticatedBind(person(ldaptest.Pupil))
	if !ldap.IsErrorWithCode(err, 53) {
		t.Fatalf("unauthenticated bind: %v; want unwillingToPerform", err)
	}
}

func TestBindLockout(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := dial(t, srv)
	for i := range 5 {
		if err := l.Bind(ldaptest.Teacher, fmt.Sprintf("wrong-%d", i)); !ldap.IsErrorWithCode(err, 49) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	err := l.Bind(ldaptest.Teacher, ldaptest.TeacherPassword)
	var le *ldap.Error
	if !errors.As(err, &le) || le.ResultCode != 49 || !strings.Contains(le.Err.Error(), "data 775") {
		t.Fatalf("right password after 5 failures: %v; want 49 with data 775", err)
	}
}

// bindBER is a simple bind request, message id 1.
func bindBER(name, pw string) []byte {
	body := append([]byte{0x02, 0x01, 0x03, 0x04, byte(len(name))}, name...)
	body = append(append(body, 0x80, byte(len(pw))), pw...)
	msg := append([]byte{0x02, 0x01, 0x01, 0x60, byte(len(body))}, body...)
	return append([]byte{0x30, byte(len(msg))}, msg...)
}

// rawBind sends one bind on a fresh connection and returns the bytes of
// the answer.
func rawBind(t *testing.T, addr, name, pw string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(bindBER(name, pw)); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 2)
	if _, err := io.ReadFull(c, head); err != nil {
		t.Fatal(err)
	}
	n := int(head[1])
	var lenBytes []byte
	if head[1]&0x80 != 0 {
		lenBytes = make([]byte, head[1]&0x7f)
		if _, err := io.ReadFull(c, lenBytes); err != nil {
			t.Fatal(err)
		}
		n = 0
		for _, b := range lenBytes {
			n = n<<8 | int(b)
		}
	}
	rest := make([]byte, n)
	if _, err := io.ReadFull(c, rest); err != nil {
		t.Fatal(err)
	}
	return append(append(head, lenBytes...), rest...)
}

// TestLockedBindAnswersSameWhateverPassword: once locked, the right
// password and a wrong one get the same bytes back, so the lock stops
// guessing rather than reporting success late.
func TestLockedBindAnswersSameWhateverPassword(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	name := ldaptest.Teacher + "@" + ldaptest.Domain
	for i := range 5 {
		rawBind(t, srv.Addr, name, fmt.Sprintf("wrong-%d", i))
	}
	right := rawBind(t, srv.Addr, name, ldaptest.TeacherPassword)
	wrong := rawBind(t, srv.Addr, name, "wrong-again")
	if !bytes.Equal(right, wrong) {
		t.Fatalf("locked: right password answered\n%q\nwrong password answered\n%q", right, wrong)
	}
	if !bytes.Contains(right, []byte("data 775")) {
		t.Errorf("locked answer %q: want data 775", right)
	}
}

func TestAnonymousReadsOnlyRootDSE(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := dial(t, srv)
	res, err := l.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("root DSE: %v %v", res, err)
	}
	dse := res.Entries[0]
	if got := dse.GetAttributeValue("namingContexts"); got != base {
		t.Errorf("namingContexts = %q", got)
	}
	for _, oid := range []string{"1.3.6.1.4.1.4203.1.11.3", "1.3.6.1.4.1.4203.1.11.1", "1.3.6.1.4.1.1466.20037"} {
		if !slices.Contains(dse.GetAttributeValues("supportedExtension"), oid) {
			t.Errorf("supportedExtension lacks %s", oid)
		}
	}
	if !slices.Contains(dse.GetAttributeValues("supportedControl"), "1.2.840.113556.1.4.319") {
		t.Error("supportedControl lacks paged results")
	}
	_, err = l.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(uid="+ldaptest.Pupil+")", nil, nil))
	if !ldap.IsErrorWithCode(err, 50) {
		t.Fatalf("anonymous search of the tree: %v; want insufficientAccessRights", err)
	}
}

func TestSubschema(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := bound(t, srv, ldaptest.Pupil, ldaptest.PupilPassword)
	res, err := l.Search(ldap.NewSearchRequest("cn=Subschema", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=subschema)", []string{"objectClasses", "attributeTypes"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("subschema: %v %v", res, err)
	}
	oc := strings.Join(res.Entries[0].GetAttributeValues("objectClasses"), "\n")
	for _, want := range []string{"'posixAccount'", "'inetOrgPerson'", "'posixGroup'", "'shadowAccount'"} {
		if !strings.Contains(oc, want) {
			t.Errorf("objectClasses lack %s", want)
		}
	}
	if n := len(res.Entries[0].GetAttributeValues("attributeTypes")); n < 20 {
		t.Errorf("%d attributeTypes", n)
	}
}

func search(t *testing.T, l *ldap.Conn, baseDN string, scope int, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := l.Search(ldap.NewSearchRequest(baseDN, scope, 0, 0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s %s: %v", baseDN, filter, err)
	}
	return res.Entries
}

func dns(es []*ldap.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, strings.ToLower(e.DN))
	}
	slices.Sort(out)
	return out
}

func TestSearchFilters(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	people := "ou=people," + base
	p := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, strings.ToLower(person(n)))
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"(uid=apupil)", p("apupil")},
		{"(UID=APUPIL)", p("apupil")},
		{"(uid~=apupil)", p("apupil")},
		{"(&(objectClass=posixAccount)(uid=jteacher))", p("jteacher")},
		{"(&(objectClass=posixGroup)(uid=jteacher))", nil},
		{"(|(uid=apupil)(uid=jteacher))", p("apupil", "jteacher")},
		{"(&(objectClass=posixAccount)(!(employeeType=staff)))", p("apupil")},
		{"(uid=*leaver)", p("gleaver")},
		{"(uid=s*d)", p("ssuspended")},
		{"(cn=*ea*)", p("jteacher", "gleaver")},
		{"(mail=J.Teacher@school.example)", p("jteacher")},
		{"(mail=*)", p("jteacher")},
		{"(memberOf=cn=7a,ou=groups," + base + ")", p("apupil")},
		{"(shadowExpire=1)", p("gleaver")},
		{"(nosuchattribute=x)", nil},
		{"(!(nosuchattribute=x))", nil},
		{"(&)", p("apupil", "jteacher", "gleaver", "ssuspended", "uunsigned")},
		{"(|)", nil},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			got := dns(search(t, l, people, ldap.ScopeSingleLevel, tc.filter, "1.1"))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// >= and <= on uidNumber, relative to the teacher's number.
	e := search(t, l, people, ldap.ScopeSingleLevel, "(uid=jteacher)", "uidNumber", "entryUUID")[0]
	uid := e.GetAttributeValue("uidNumber")
	if got := dns(search(t, l, people, ldap.ScopeSingleLevel, "(&(uidNumber>="+uid+")(uidNumber<="+uid+"))")); !slices.Equal(got, p("jteacher")) {
		t.Errorf(">= and <= on %s: %v", uid, got)
	}
	if got := dns(search(t, l, base, ldap.ScopeWholeSubtree, "(uidNumber="+uid+")")); !slices.Equal(got, p("jteacher")) {
		t.Errorf("uidNumber=%s: %v", uid, got)
	}
	if got := dns(search(t, l, base, ldap.ScopeWholeSubtree, "(entryUUID="+e.GetAttributeValue("entryUUID")+")")); !slices.Equal(got, p("jteacher")) {
		t.Errorf("entryUUID: %v", got)
	}
}

func TestSearchScopesAndEntries(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	if got := dns(search(t, l, base, ldap.ScopeBaseObject, "(objectClass=*)")); !slices.Equal(got, []string{base}) {
		t.Errorf("base scope: %v", got)
	}
	if got := dns(search(t, l, base, ldap.ScopeSingleLevel, "(objectClass=*)")); len(got) != 3 {
		t.Errorf("one level: %v", got)
	}
	if got := search(t, l, base, ldap.ScopeWholeSubtree, "(objectClass=*)"); len(got) != 1+3+6+4+5 { // suffix, ous, accounts, groups, the five people's own groups
		t.Errorf("subtree: %d entries: %v", len(got), dns(got))
	}
	if got := dns(search(t, l, person(ldaptest.Pupil), ldap.ScopeBaseObject, "(objectClass=*)")); !slices.Equal(got, []string{strings.ToLower(person(ldaptest.Pupil))}) {
		t.Errorf("base scope on an entry: %v", got)
	}
	if got := search(t, l, person(ldaptest.Pupil), ldap.ScopeSingleLevel, "(objectClass=*)"); len(got) != 0 {
		t.Errorf("one level below an entry: %v", dns(got))
	}
	for _, missing := range []string{person("nobody"), service(ldaptest.Pupil), "cn=nogroup,ou=groups," + base, "ou=elsewhere," + base, "dc=other,dc=example"} {
		_, err := l.Search(ldap.NewSearchRequest(missing, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
		if !ldap.IsErrorWithCode(err, 32) {
			t.Errorf("search of %s: %v; want noSuchObject", missing, err)
		}
	}

	e := search(t, l, base, ldap.ScopeWholeSubtree, "(uid="+ldaptest.Pupil+")")[0]
	for _, a := range []string{"uid", "cn", "sn", "givenName", "displayName", "uidNumber", "gidNumber", "homeDirectory", "loginShell", "memberOf"} {
		if e.GetAttributeValue(a) == "" {
			t.Errorf("person lacks %s", a)
		}
	}
	for _, a := range []string{"entryUUID", "userPassword"} {
		if e.GetAttributeValue(a) != "" {
			t.Errorf("person shows %s without being asked", a)
		}
	}
	if oc := e.GetAttributeValues("objectClass"); !slices.Contains(oc, "posixAccount") || !slices.Contains(oc, "inetOrgPerson") || !slices.Contains(oc, "shadowAccount") {
		t.Errorf("objectClass %v", oc)
	}
	if got := e.GetAttributeValues("memberOf"); len(got) != 3 {
		t.Errorf("memberOf %v", got)
	}
	e = search(t, l, base, ldap.ScopeWholeSubtree, "(uid="+ldaptest.Pupil+")", "+", "userPassword")[0]
	if e.GetAttributeValue("entryUUID") == "" || e.GetAttributeValue("uid") != "" || e.GetAttributeValue("userPassword") != "" {
		t.Errorf("+ gave %v", e.Attributes)
	}
	g := search(t, l, base, ldap.ScopeWholeSubtree, "(&(objectClass=posixGroup)(cn=7a))")
	if len(g) != 1 || g[0].GetAttributeValue("gidNumber") == "" || !slices.Equal(g[0].GetAttributeValues("memberUid"), []string{ldaptest.Pupil}) ||
		!strings.EqualFold(g[0].GetAttributeValue("member"), person(ldaptest.Pupil)) {
		t.Fatalf("group 7a: %v", g)
	}
	if got := dns(search(t, l, base, ldap.ScopeWholeSubtree, "(&(objectClass=posixGroup)(|(memberUid="+ldaptest.Pupil+")(member="+person(ldaptest.Pupil)+")))")); len(got) != 3 {
		t.Errorf("groups of the pupil: %v", got)
	}
	gid := g[0].GetAttributeValue("gidNumber")
	if got := dns(search(t, l, "ou=groups,"+base, ldap.ScopeSingleLevel, "(gidNumber="+gid+")")); len(got) != 1 {
		t.Errorf("gidNumber=%s: %v", gid, got)
	}
}

func TestSearchLimits(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	res, err := l.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 2, 0, false, "(objectClass=*)", nil, nil))
	if !ldap.IsErrorWithCode(err, 4) || res == nil || len(res.Entries) != 2 {
		t.Fatalf("size limit 2: %v, %v", res, err)
	}
}

func TestAccessControl(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := bound(t, srv, ldaptest.Pupil, ldaptest.PupilPassword)
	if got := dns(search(t, l, base, ldap.ScopeWholeSubtree, "(objectClass=posixAccount)")); !slices.Equal(got, []string{strings.ToLower(person(ldaptest.Pupil))}) {
		t.Errorf("a pupil sees people %v; want only themself", got)
	}
	if got := search(t, l, base, ldap.ScopeWholeSubtree, "(uid="+ldaptest.Teacher+")"); len(got) != 0 {
		t.Errorf("a pupil sees the teacher")
	}
	if got := dns(search(t, l, base, ldap.ScopeWholeSubtree, "(objectClass=posixGroup)")); !slices.Equal(got, []string{
		"cn=7a,ou=groups," + base, "cn=" + ldaptest.Pupil + ",ou=groups," + base, "cn=pupils,ou=groups," + base, "cn=year-7,ou=groups," + base}) {
		t.Errorf("a pupil sees groups %v; want only their own", got)
	}
	if got := search(t, l, "ou=services,"+base, ldap.ScopeSingleLevel, "(objectClass=*)"); len(got) != 0 {
		t.Errorf("a pupil sees service accounts: %v", dns(got))
	}
	// A service account without a grant sees only itself and no groups.
	srv2 := ldaptest.Start(t, ldaptest.Options{Config: func(c *ldapserver.Config) { c.Grants = nil }})
	l2 := bound(t, srv2, service(ldaptest.Service), ldaptest.ServicePassword)
	if got := dns(search(t, l2, base, ldap.ScopeWholeSubtree, "(|(objectClass=posixAccount)(objectClass=posixGroup)(objectClass=account))")); !slices.Equal(got, []string{strings.ToLower(service(ldaptest.Service))}) {
		t.Errorf("ungranted service account sees %v", got)
	}
}

func TestPagedSearch(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{People: 120})
	l := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	req := ldap.NewSearchRequest("ou=people,"+base, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=posixAccount)", []string{"uid"}, nil)
	paging := ldap.NewControlPaging(50)
	req.Controls = []ldap.Control{paging}
	seen := map[string]bool{}
	pages := 0
	for {
		res, err := l.Search(req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(res.Entries) > 50 {
			t.Fatalf("page of %d entries", len(res.Entries))
		}
		for _, e := range res.Entries {
			if seen[e.DN] {
				t.Fatalf("%s twice", e.DN)
			}
			seen[e.DN] = true
		}
		c, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok {
			t.Fatal("no paging control in the response")
		}
		if len(c.Cookie) == 0 {
			break
		}
		paging.SetCookie(c.Cookie)
	}
	if want := 120 + 5; len(seen) != want || pages < 3 {
		t.Errorf("%d entries in %d pages, want %d in 3 or more", len(seen), pages, want)
	}
}

func TestTLS(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	cfg := &tls.Config{RootCAs: srv.Roots, ServerName: "127.0.0.1"}
	l := dial(t, srv)
	if err := l.StartTLS(cfg); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := l.Bind(ldaptest.Pupil, ldaptest.PupilPassword); err != nil {
		t.Fatalf("bind after StartTLS: %v", err)
	}
	if err := l.StartTLS(cfg); err == nil {
		t.Error("second StartTLS succeeded")
	}
	ls, err := ldap.DialURL(srv.LDAPSURL, ldap.DialWithTLSConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	if err := ls.Bind(person(ldaptest.Teacher), ldaptest.TeacherPassword); err != nil {
		t.Fatalf("bind over ldaps: %v", err)
	}
	r, err := ls.WhoAmI(nil)
	if err != nil || r.AuthzID != "dn:"+person(ldaptest.Teacher) {
		t.Fatalf("whoami over ldaps: %v %v", r, err)
	}
}

func TestWhoAmI(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := dial(t, srv)
	r, err := l.WhoAmI(nil)
	if err != nil || r.AuthzID != "" {
		t.Fatalf("anonymous whoami: %+v %v", r, err)
	}
	if err := l.Bind(ldaptest.Pupil+"@"+ldaptest.Domain, ldaptest.PupilPassword); err != nil {
		t.Fatal(err)
	}
	r, err = l.WhoAmI(nil)
	if err != nil || r.AuthzID != "dn:"+person(ldaptest.Pupil) {
		t.Fatalf("whoami: %+v %v", r, err)
	}
	// A failed bind leaves the connection anonymous.
	l.Bind(ldaptest.Pupil, "wrong")
	if r, err = l.WhoAmI(nil); err != nil || r.AuthzID != "" {
		t.Fatalf("whoami after a failed bind: %+v %v", r, err)
	}
}

func TestPasswordModify(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := bound(t, srv, ldaptest.Teacher, ldaptest.TeacherPassword)
	_, err := l.PasswordModify(ldap.NewPasswordModifyRequest("", ldaptest.TeacherPassword, "short"))
	var le *ldap.Error
	if !errors.As(err, &le) || le.ResultCode != 19 || !strings.Contains(le.Err.Error(), "password not changed") {
		t.Fatalf("weak password: %v; want constraintViolation naming the rules", err)
	}
	if _, err := l.PasswordModify(ldap.NewPasswordModifyRequest("", "wrong-old", "Granite-Lantern-Orbit-47")); !ldap.IsErrorWithCode(err, 49) {
		t.Fatalf("wrong old password: %v", err)
	}
	if _, err := l.PasswordModify(ldap.NewPasswordModifyRequest(person(ldaptest.Pupil), "", "Granite-Lantern-Orbit-47")); !ldap.IsErrorWithCode(err, 50) {
		t.Fatalf("someone else's password: %v", err)
	}
	if _, err := l.PasswordModify(ldap.NewPasswordModifyRequest("", ldaptest.TeacherPassword, "Granite-Lantern-Orbit-47")); err != nil {
		t.Fatalf("good change: %v", err)
	}
	if err := dial(t, srv).Bind(ldaptest.Teacher, "Granite-Lantern-Orbit-47"); err != nil {
		t.Fatalf("bind with the new password: %v", err)
	}
	if err := dial(t, srv).Bind(ldaptest.Teacher, ldaptest.TeacherPassword); !ldap.IsErrorWithCode(err, 49) {
		t.Fatalf("bind with the old password: %v", err)
	}
	anon := dial(t, srv)
	if _, err := anon.PasswordModify(ldap.NewPasswordModifyRequest(person(ldaptest.Pupil), "", "Granite-Lantern-Orbit-47")); !ldap.IsErrorWithCode(err, 50) {
		t.Fatalf("anonymous password change: %v", err)
	}
}

// Requests on one connection run concurrently; the race detector checks
// the per-connection state while they do.
func TestConcurrentRequestsOnOneConnection(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	l := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	names := []string{ldaptest.Teacher, ldaptest.Pupil, ldaptest.Leaver, ldaptest.Suspended, ldaptest.Unsigned}
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			name := names[i%len(names)]
			res, err := l.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(uid="+name+")", []string{"uid", "memberOf"}, nil))
			switch {
			case err != nil:
				errs <- err
			case len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("uid") != name:
				errs <- fmt.Errorf("search %s: %d entries", name, len(res.Entries))
			default:
				if _, err := l.WhoAmI(nil); err != nil {
					errs <- err
					return
				}
				errs <- nil
			}
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A service account's own entry is skipped only when the filter rules its
// class out, never when it could match.
func TestOwnServiceEntryByClass(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{Config: func(c *ldapserver.Config) { c.Grants = nil }})
	l := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	own := strings.ToLower(service(ldaptest.Service))
	if got := dns(search(t, l, base, ldap.ScopeWholeSubtree, "(&(objectClass=account)(uid="+ldaptest.Service+"))")); !slices.Equal(got, []string{own}) {
		t.Errorf("(objectClass=account) search for itself: %v, want %s", got, own)
	}
	if got := search(t, l, base, ldap.ScopeWholeSubtree, "(&(objectClass=posixAccount)(uid="+ldaptest.Service+"))"); len(got) != 0 {
		t.Errorf("(objectClass=posixAccount) matched the service entry: %v", dns(got))
	}
}
