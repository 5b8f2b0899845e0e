package ldapserver

import (
	"context"
	"net"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/directory"
)

// remoteConn makes a pipe look like a connection from another host.
type remoteConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.remote }

// A simple bind in clear text from another host is refused before the
// password is looked at (so no directory is needed here).
func TestCleartextBindFromAnotherHostRefused(t *testing.T) {
	srv, err := New(nil, &directory.Directory{}, Config{BaseDN: "dc=school,dc=example"})
	if err != nil {
		t.Fatal(err)
	}
	server, client := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	c := newConn(srv, remoteConn{server, &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 40000}}, false)
	done := make(chan struct{})
	go func() { c.serve(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	l := ldap.NewConn(client, false)
	l.Start()
	defer l.Close()
	err = l.Bind("uid=apupil,ou=people,dc=school,dc=example", "secret")
	if !ldap.IsErrorWithCode(err, resultConfidentialityReq) {
		t.Errorf("bind in clear text from 192.0.2.10: %v; want confidentialityRequired", err)
	}
	// The connection stays anonymous and usable.
	r, err := l.WhoAmI(nil)
	if err != nil || r.AuthzID != "" {
		t.Errorf("whoami after the refusal: %+v %v", r, err)
	}
}
