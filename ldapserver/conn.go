package ldapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"keystage.dev/keystage/directory"
)

// identity is who a connection is bound as.
type identity struct {
	dn      string // empty: anonymous
	account directory.Account
	// mustChange: bound with a first password after asking for the
	// password policy control; nothing but the password change is
	// allowed until it is made (OpenLDAP ppolicy's pwdReset restriction).
	mustChange bool
}

func (id identity) anonymous() bool { return id.dn == "" }
func (id identity) service() bool   { return id.account.Role == directory.RoleService }

// conn is one client connection. Requests other than bind and StartTLS
// run concurrently, so everything they share is behind mu.
type conn struct {
	s   *Server
	nc  net.Conn
	r   *bufio.Reader
	sem chan struct{}
	wg  sync.WaitGroup // requests in flight
	// work hands a request to the connection's worker when it is idle,
	// which it is between the requests of a client that waits for each
	// answer (nslcd, SSSD): its stack has grown already, where a new
	// goroutine per request grew (copied) its stack for every search.
	work chan *message

	src      netip.Prefix // what connections and searches are counted by (sourceKey)
	accepted time.Time
	hasBound bool // has bound as someone since accepted; only serve's loop reads and writes it

	wmu sync.Mutex // one response at a time on the wire

	mu       sync.Mutex
	tls      bool
	bound    identity
	inFlight map[int64]context.CancelFunc // for Abandon
}

func newConn(s *Server, nc net.Conn, implicitTLS bool) *conn {
	return &conn{s: s, nc: nc, r: bufio.NewReader(nc), tls: implicitTLS,
		sem: make(chan struct{}, s.cfg.MaxInFlight), work: make(chan *message), inFlight: map[int64]context.CancelFunc{},
		src: sourceKey(nc.RemoteAddr()), accepted: time.Now()}
}

// remoteAddr is the client's IP address, for the lockout and the log.
func (c *conn) remoteAddr() string {
	ra := c.netConn().RemoteAddr().String()
	if ap, err := netip.ParseAddrPort(ra); err == nil {
		return ap.Addr().Unmap().String()
	}
	return ra
}

// origin is where the connection's binds come from, for the lockout: its
// address, trusted (familiar to every account) for a configured
// application server.
func (c *conn) origin() directory.Origin {
	ra := c.remoteAddr()
	o := directory.Origin{ID: "ldap:" + ra}
	if a, err := netip.ParseAddr(ra); err == nil {
		for _, p := range c.s.cfg.LockoutExempt {
			if p.Contains(a) {
				o.Trusted = true
			}
		}
	}
	return o
}

func (c *conn) loopback() bool {
	a, err := netip.ParseAddr(c.remoteAddr())
	return err == nil && a.IsLoopback()
}

// netConn is the connection as it is now (StartTLS replaces it).
func (c *conn) netConn() net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nc
}

// close ends the connection from outside (server shutdown).
func (c *conn) close() { c.netConn().Close() }

func (c *conn) secure() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tls
}

func (c *conn) identity() identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bound
}

func (c *conn) setIdentity(id identity) {
	c.mu.Lock()
	c.bound = id
	c.mu.Unlock()
}

// serve reads requests until the client unbinds or goes, or ctx ends.
func (c *conn) serve(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	go c.worker(ctx)
	defer func() {
		cancel()
		c.wg.Wait()
		close(c.work)
		c.close()
	}()
	if tc, ok := c.nc.(*tls.Conn); ok {
		c.nc.SetDeadline(c.accepted.Add(min(c.s.cfg.MaxTime, c.s.cfg.BindTimeout)))
		if err := tc.HandshakeContext(ctx); err != nil {
			return
		}
		c.nc.SetDeadline(time.Time{})
	}
	for {
		// Waiting for a request: the idle timeout, or before the first
		// bind the bind timeout counted from accept. Once a request has
		// begun, it must arrive whole within the frame timeout.
		c.nc.SetReadDeadline(c.waitDeadline())
		if _, err := c.r.Peek(1); err != nil {
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.FrameTimeout))
		frame, err := readFrame(c.r, c.s.cfg.MaxMessage)
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				c.disconnect(resultProtocolError, err.Error())
			}
			return
		}
		if max := c.s.maxElements(); countElements(frame, max) > max {
			// Too complex to be worth decoding: a search is told so,
			// anything else is a protocol error.
			if id, op, ok := frameHeader(frame); ok && op == appSearchRequest {
				c.s.dir.ObserveSince(time.Now(), directory.ServiceLDAP, "search", resultName(resultAdminLimitExceeded), directory.ReasonNone)
				c.reply(id, result(appSearchDone, resultAdminLimitExceeded, "", c.s.filterTooComplex()))
				continue
			}
			c.disconnect(resultProtocolError, "the message has more parts than this server accepts")
			return
		}
		m, err := decode(frame)
		if err != nil {
			c.disconnect(resultProtocolError, err.Error())
			return
		}
		switch m.tag {
		case appUnbindRequest:
			return
		case appAbandonRequest:
			if id, ok := abandonID(m.op); ok {
				c.mu.Lock()
				if cancel := c.inFlight[id]; cancel != nil {
					cancel()
				}
				c.mu.Unlock()
			}
			continue
		case appBindRequest:
			// A bind changes the identity that other requests check, so
			// it waits for them and runs alone (RFC 4511 section 4.2.1).
			c.wg.Wait()
			c.handle(ctx, m)
			if !c.identity().anonymous() {
				c.hasBound = true
			}
			continue
		case appExtendedRequest:
			if x, err := decodeExtended(m.op); err == nil && x.name == oidStartTLS {
				c.wg.Wait()
				if !c.startTLS(ctx, m) {
					return
				}
				continue
			}
		}
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		c.wg.Add(1)
		select {
		case c.work <- m:
		default: // the worker is busy: this request runs beside it
			go func() {
				defer func() { <-c.sem; c.wg.Done() }()
				c.handle(ctx, m)
			}()
		}
	}
}

// worker answers the requests handed to it on c.work until serve ends.
func (c *conn) worker(ctx context.Context) {
	for m := range c.work {
		c.handle(ctx, m)
		<-c.sem
		c.wg.Done()
	}
}

// waitDeadline is when a connection waiting for its next request is
// closed: after the idle timeout, or, until it has first bound, at the
// bind timeout after it was accepted.
func (c *conn) waitDeadline() time.Time {
	d := time.Now().Add(c.s.cfg.IdleTimeout)
	if !c.hasBound {
		if b := c.accepted.Add(c.s.cfg.BindTimeout); b.Before(d) {
			return b
		}
	}
	return d
}

// abandonID reads the message id an AbandonRequest names (an
// application-class primitive INTEGER).
func abandonID(op *ber.Packet) (int64, bool) {
	if op.TagType != ber.TypePrimitive || op.Data.Len() == 0 || op.Data.Len() > 8 {
		return 0, false
	}
	v, err := ber.ParseInt64(op.Data.Bytes())
	return v, err == nil
}

// handle answers one request with its own deadline; a panic is answered
// with operationsError instead of taking the server down.
func (c *conn) handle(ctx context.Context, m *message) {
	ctx, cancel := context.WithTimeout(ctx, c.s.cfg.MaxTime)
	defer cancel()
	c.mu.Lock()
	c.inFlight[m.id] = cancel
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.inFlight, m.id)
		c.mu.Unlock()
		if r := recover(); r != nil {
			c.s.log.Error("ldap request panicked", "panic", r, "stack", string(debug.Stack()))
			c.reply(m.id, result(responseTag(m.tag), resultOperationsError, "", "internal error"))
		}
	}()
	if m.tag != appBindRequest && c.identity().mustChange && !isPasswordModify(m) {
		c.reply(m.id, result(responseTag(m.tag), resultInsufficientAccess, "", restrictedDiagnostic))
		return
	}
	switch m.tag {
	case appBindRequest:
		c.bind(ctx, m)
	case appSearchRequest:
		if c.identity().anonymous() {
			// The root DSE or a refusal, answered at once: nothing to
			// queue for, and nothing held while queueing.
			c.search(ctx, m)
			break
		}
		began := time.Now()
		release, ok := c.searchSlot(ctx)
		if !ok {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				c.s.dir.ObserveSince(began, directory.ServiceLDAP, "search", refusedBusy, directory.ReasonNone)
				c.reply(m.id, result(appSearchDone, resultBusy, "", "the server is busy with other searches: try again shortly"))
			}
			return
		}
		defer release()
		c.search(ctx, m)
	case appExtendedRequest:
		c.extended(ctx, m)
	case appModifyRequest, appAddRequest, appDelRequest, appModDNRequest:
		c.reply(m.id, result(responseTag(m.tag), resultUnwillingToPerform, "", "the directory is read-only over LDAP: change it with keystage or the portal"))
	case appCompareRequest:
		c.reply(m.id, result(appCompareResponse, resultUnwillingToPerform, "", "compare is not supported"))
	default:
		c.reply(m.id, result(appExtendedResponse, resultProtocolError, "", "unknown operation"))
	}
}

// reply writes one message; a write error closes the connection, which
// ends the read loop.
func (c *conn) reply(id int64, op *ber.Packet, controls ...*ber.Packet) bool {
	return c.replyBytes(envelope(id, op, controls...))
}

// replyBytes sends an encoded message.
func (c *conn) replyBytes(b []byte) bool {
	nc := c.netConn()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	nc.SetWriteDeadline(time.Now().Add(c.s.cfg.MaxTime))
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return false
	}
	return true
}

// batchBound is how many bytes of one search's responses are collected
// before they are written: a search's entries and its SearchResultDone go
// out in one write (one system call, one TCP segment for nslcd's lookup of
// one person, instead of two), and a large search holds at most this much
// and the entry that passed it.
const batchBound = 64 << 10

// batch collects one request's response messages and writes them
// together: when they pass batchBound, and when the last is added.
type batch struct {
	b     []byte
	write func([]byte) bool // false: the connection is gone
}

// grow makes room for a message of n bytes, to be appended to b.
func (w *batch) grow(n int) { w.b = slices.Grow(w.b, n) }

// flushIfFull writes what is collected once it passes batchBound; false
// when the connection is gone.
func (w *batch) flushIfFull() bool {
	if len(w.b) < batchBound {
		return true
	}
	return w.flush()
}

// flush writes what is collected; false when the connection is gone.
func (w *batch) flush() bool {
	if len(w.b) == 0 {
		return true
	}
	ok := w.write(w.b)
	if cap(w.b) > 2*batchBound {
		w.b = nil // an entry far larger than the bound: not kept
	} else {
		w.b = w.b[:0]
	}
	return ok
}

// disconnect sends the Notice of Disconnection (RFC 4511 section 4.4.1)
// before the connection is closed.
func (c *conn) disconnect(code int, diag string) {
	p := result(appExtendedResponse, code, "", diag)
	p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, oidNoticeOfDisconnection, "responseName"))
	c.reply(0, p)
}

// startTLS answers the StartTLS request and upgrades the connection; it
// reports whether the connection may go on.
func (c *conn) startTLS(ctx context.Context, m *message) bool {
	resp := func(code int, diag string) *ber.Packet {
		p := result(appExtendedResponse, code, "", diag)
		p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, oidStartTLS, "responseName"))
		return p
	}
	switch {
	case c.s.cfg.TLS == nil:
		return c.reply(m.id, resp(resultProtocolError, "StartTLS is not configured on this server"))
	case c.secure():
		return c.reply(m.id, resp(resultOperationsError, "TLS is already established"))
	}
	if !c.reply(m.id, resp(resultSuccess, "")) {
		return false
	}
	tc := tls.Server(c.nc, c.s.cfg.TLS)
	c.nc.SetDeadline(time.Now().Add(c.s.cfg.MaxTime))
	if err := tc.HandshakeContext(ctx); err != nil {
		return false
	}
	c.nc.SetDeadline(time.Time{})
	c.mu.Lock()
	c.nc, c.tls = tc, true
	c.r = bufio.NewReader(tc)
	c.mu.Unlock()
	return true
}
