package webfilter

import (
	"net"
	"testing"
	"time"
)

// The feed's listener holds at most n connections: the next is accepted
// only once one of them closes.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := LimitListener(inner, 2, 2)
	defer l.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first := <-accepted
	<-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	select {
	case <-accepted:
	case <-time.After(30 * time.Second):
		t.Fatal("the third connection was not accepted after one closed")
	}
}

// One address that opens connection after connection holds its share and
// no more; a filter at another address is still served.
func TestLimitListenerPerAddress(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := LimitListener(inner, 8, 3)
	defer l.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(from string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	for range 10 { // a stranger's flood from one address
		dial("127.0.0.1")
	}
	var held []net.Conn
	for range 3 {
		select {
		case c := <-accepted:
			held = append(held, c)
		case <-time.After(30 * time.Second):
			t.Fatal("the flooding address was not given its share")
		}
	}
	for _, c := range held {
		t.Cleanup(func() { c.Close() })
	}
	dial("127.0.0.2") // the filter
	select {
	case c := <-accepted:
		defer c.Close()
		if got := addrKey(c.RemoteAddr()); got != "127.0.0.2" {
			t.Fatalf("accepted a fourth connection from %s while one address held three", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the filter's connection was not accepted during the flood")
	}
	select {
	case c := <-accepted:
		t.Fatalf("a connection over the per-address bound was accepted from %s", c.RemoteAddr())
	case <-time.After(100 * time.Millisecond):
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:1234":            "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:80": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":     "192.0.2.7",
	} {
		a, _ := net.ResolveTCPAddr("tcp", in)
		if got := addrKey(a); got != want {
			t.Errorf("addrKey(%s) = %s, want %s", in, got, want)
		}
	}
}
