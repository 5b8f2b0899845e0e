package ldapserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/ldapserver/ldaptest"
)

// A service account disabled while its connection is bound loses the
// connection: the store tells the server, which sends a Notice of
// Disconnection saying why and closes it. Other connections keep their
// binds, and a rebind as the disabled account is refused.
func TestDisabledAccountLosesItsBoundConnection(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	held, err := ldaptest.BindHeld(srv.Addr, service(ldaptest.Service), ldaptest.ServicePassword)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	teacher := bound(t, srv, person(ldaptest.Teacher), ldaptest.TeacherPassword)
	people := func(l *ldap.Conn) error {
		_, err := l.Search(ldap.NewSearchRequest("ou=people,"+base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(uid="+ldaptest.Teacher+")", []string{"uid"}, nil))
		return err
	}
	ctx := context.Background()
	a, err := srv.Store.AccountByUsername(ctx, ldaptest.Service)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if _, err := tx.UpdateAccount(ctx, a.ID, func(x *directory.Account) error {
			x.Status, x.DisabledAt, x.DisableReason = directory.StatusDisabled, time.Now(), "decommissioned"
			return nil
		}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "test", Action: "account.disable", Target: "account:" + ldaptest.Service})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The deadline only bounds a broken test.
	n, err := held.AwaitNotice(30 * time.Second)
	if err != nil {
		t.Fatalf("the disabled account's bound connection: %v", err)
	}
	if n.Code != int(ldap.LDAPResultStrongAuthRequired) || !strings.Contains(n.Diagnostic, ldaptest.Service) {
		t.Errorf("notice %+v; want strongerAuthRequired naming %s", n, ldaptest.Service)
	}
	if err := people(teacher); err != nil {
		t.Errorf("another account's connection lost its bind: %v", err)
	}
	if err := dial(t, srv).Bind(service(ldaptest.Service), ldaptest.ServicePassword); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("rebind as the disabled account: %v, want invalid credentials", err)
	}
}
