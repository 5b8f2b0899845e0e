package ldapserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/ldapserver/ldaptest"
)

// issueFirst gives the teacher a first password, as keystage password
// issue does.
func issueFirst(t *testing.T, srv *ldaptest.Server, user string) string {
	t.Helper()
	ctx := context.Background()
	a, err := srv.Store.AccountByUsername(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := srv.Dir.IssueFirstPassword(ctx, "test", a, 24*time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	return fp.Password
}

// TestBindFirstPassword: a bind with a first password succeeds only for a
// client that asked for the password policy control, with
// changeAfterReset, and the connection may then only change the password;
// a client that did not ask gets invalidCredentials saying why.
func TestBindFirstPassword(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	first := issueFirst(t, srv, ldaptest.Teacher)

	l := dial(t, srv)
	_, err := l.SimpleBind(ldap.NewSimpleBindRequest(person(ldaptest.Teacher), first, nil))
	if !ldap.IsErrorWithCode(err, 49) || !strings.Contains(err.Error(), "data 773") || !strings.Contains(err.Error(), "must first be changed") {
		t.Fatalf("bind without the control: %v; want invalidCredentials saying the password must first be changed", err)
	}

	l = dial(t, srv)
	req := ldap.NewSimpleBindRequest(person(ldaptest.Teacher), first, []ldap.Control{ldap.NewControlBeheraPasswordPolicy()})
	res, err := l.SimpleBind(req)
	if err != nil {
		t.Fatalf("bind with the control: %v", err)
	}
	pp, _ := ldap.FindControl(res.Controls, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy)
	if pp == nil || pp.Error != 2 {
		t.Fatalf("password policy control %+v; want changeAfterReset (2)", pp)
	}
	_, err = l.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(uid="+ldaptest.Teacher+")", []string{"uid"}, nil))
	if !ldap.IsErrorWithCode(err, 50) {
		t.Fatalf("search before the change: %v; want insufficientAccess", err)
	}
	if _, err := l.WhoAmI(nil); !ldap.IsErrorWithCode(err, 50) {
		t.Errorf("whoami before the change: %v; want insufficientAccess", err)
	}
	_, err = l.PasswordModify(ldap.NewPasswordModifyRequest("", first, "jteacher1"))
	if !ldap.IsErrorWithCode(err, 19) {
		t.Fatalf("a weak new password: %v; want constraintViolation", err)
	}
	const newPW = "Granite-Lantern-Orbit-47"
	if _, err := l.PasswordModify(ldap.NewPasswordModifyRequest("", first, newPW)); err != nil {
		t.Fatalf("change: %v", err)
	}
	if _, err := l.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(uid="+ldaptest.Teacher+")", []string{"uid"}, nil)); err != nil {
		t.Errorf("search after the change: %v", err)
	}
	l = dial(t, srv)
	if err := l.Bind(person(ldaptest.Teacher), newPW); err != nil {
		t.Errorf("bind with the new password: %v", err)
	}
	if err := dial(t, srv).Bind(person(ldaptest.Teacher), first); !ldap.IsErrorWithCode(err, 49) {
		t.Errorf("bind with the used first password: %v", err)
	}
	a, _ := srv.Store.AccountByUsername(context.Background(), ldaptest.Teacher)
	if a.MustChangePassword {
		t.Error("must-change is still set after the change")
	}
}

// TestLdappasswdFirstPassword: ldappasswd with -e ppolicy changes a first
// password; without it the bind is refused and says why.
func TestLdappasswdFirstPassword(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	first := issueFirst(t, srv, ldaptest.Teacher)
	const newPW = "Granite-Lantern-Orbit-47"
	_, stderr := run(t, srv, false, "ldappasswd", "-x", "-H", srv.URL, "-ZZ", "-D", person(ldaptest.Teacher), "-w", first, "-a", first, "-s", newPW)
	if !strings.Contains(stderr, "Invalid credentials (49)") || !strings.Contains(stderr, "must first be changed") {
		t.Errorf("without ppolicy: ldappasswd printed %q", stderr)
	}
	out, errOut := run(t, srv, false, "ldappasswd", "-e", "ppolicy", "-x", "-H", srv.URL, "-ZZ", "-D", person(ldaptest.Teacher), "-w", first, "-a", first, "-s", "jteacher1")
	if !strings.Contains(out+errOut, "Constraint violation (19)") {
		t.Errorf("weak password: ldappasswd printed %q %q", out, errOut)
	}
	out, errOut = run(t, srv, true, "ldappasswd", "-e", "ppolicy", "-x", "-H", srv.URL, "-ZZ", "-D", person(ldaptest.Teacher), "-w", first, "-a", first, "-s", newPW)
	t.Logf("ldappasswd -e ppolicy: %s%s", out, errOut)
	out, _ = run(t, srv, true, "ldapwhoami", "-x", "-H", srv.LDAPSURL, "-D", ldaptest.Teacher, "-w", newPW)
	if strings.TrimSpace(out) != "dn:"+person(ldaptest.Teacher) {
		t.Errorf("whoami with the new password: %q", out)
	}
}
