package ldapserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/ldap/ldaptest"
)

// A service account disabled while its connection is bound loses what the
// connection could read: the store tells the server, which unbinds it.
// Other connections keep their binds.
func TestDisabledAccountLosesItsBoundConnection(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	svc := bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	teacher := bound(t, srv, person(ldaptest.Teacher), ldaptest.TeacherPassword)
	people := func(l *ldap.Conn) error {
		_, err := l.Search(ldap.NewSearchRequest("ou=people,"+base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(uid="+ldaptest.Teacher+")", []string{"uid"}, nil))
		return err
	}
	if err := people(svc); err != nil {
		t.Fatalf("before: %v", err)
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := people(svc)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
			break
		}
		if err != nil {
			t.Fatalf("search on the disabled account's connection: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("a disabled service account's bound connection still reads people")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := people(teacher); err != nil {
		t.Errorf("another account's connection lost its bind: %v", err)
	}
	if err := svc.Bind(service(ldaptest.Service), ldaptest.ServicePassword); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("rebind as the disabled account: %v, want invalid credentials", err)
	}
}
