package webfilter

import (
	"net"
	"net/netip"
	"sync"
)

// LimitListener accepts at most n connections at once, and at most perAddr
// of them from one address (an IPv6 /64 counts as one): the feed serves a
// handful of filters, and a stranger who opens connections without a token
// must hold no more than their share, leaving room for the filters. A
// connection over the per-address bound is closed at once; over the total,
// further connections wait in the kernel's backlog until one closes.
func LimitListener(l net.Listener, n, perAddr int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n), done: make(chan struct{}), perAddr: perAddr, byAddr: map[string]int{}}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	perAddr int
	mu      sync.Mutex
	byAddr  map[string]int
}

// addrKey is what the per-address bound counts by.
func addrKey(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.sem
			return nil, err
		}
		key := addrKey(c.RemoteAddr())
		l.mu.Lock()
		over := l.byAddr[key] >= l.perAddr
		if !over {
			l.byAddr[key]++
		}
		l.mu.Unlock()
		if over {
			c.Close()
			<-l.sem
			continue
		}
		return &limitConn{Conn: c, release: func() {
			l.mu.Lock()
			if l.byAddr[key]--; l.byAddr[key] == 0 {
				delete(l.byAddr, key)
			}
			l.mu.Unlock()
			<-l.sem
		}}, nil
	}
}

func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
