package ldapserver_test

import (
	"context"
	"sync"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/directory"
	ldapserver "keystage.dev/keystage/ldapserver"
	"keystage.dev/keystage/ldapserver/ldaptest"
)

// The Bound hook (the web filter's announcement) hears each successful
// bind, with the account and the client's address, and no failed one.
func TestBoundHook(t *testing.T) {
	var mu sync.Mutex
	var heard []string
	srv := ldaptest.Start(t, ldaptest.Options{Config: func(c *ldapserver.Config) {
		c.Bound = func(_ context.Context, a directory.Account, addr string) {
			mu.Lock()
			defer mu.Unlock()
			heard = append(heard, string(a.Role)+":"+a.Username+"@"+addr)
		}
	}})
	l := dial(t, srv)
	if err := l.Bind(person(ldaptest.Pupil), "wrong"); !ldap.IsErrorWithCode(err, 49) {
		t.Fatalf("wrong password: %v", err)
	}
	bound(t, srv, person(ldaptest.Pupil), ldaptest.PupilPassword)
	bound(t, srv, service(ldaptest.Service), ldaptest.ServicePassword)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"pupil:" + ldaptest.Pupil + "@127.0.0.1", "service:" + ldaptest.Service + "@127.0.0.1"}
	if len(heard) != 2 || heard[0] != want[0] || heard[1] != want[1] {
		t.Errorf("heard %q, want %q", heard, want)
	}
}
