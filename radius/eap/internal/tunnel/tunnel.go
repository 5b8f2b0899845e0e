// Package tunnel drives a crypto/tls connection whose records travel inside
// EAP packets rather than on a socket. crypto/tls wants a net.Conn it can
// block on; EAP hands us one message at a time and waits for our answer.
//
// During the handshake one goroutine runs tls.Conn.HandshakeContext over an
// in-memory net.Conn, and the caller and that goroutine take turns through
// channels: the caller feeds one reassembled TLS message, the goroutine runs
// until it needs more input and yields what it wrote. No polling, no retries:
// every blocking point also waits on Close and on the handshake deadline, so
// an abandoned handshake ends its goroutine. Once the handshake is done the
// goroutine is gone and application data is read and written synchronously:
// reads that run out of input return a temporary net.Error, which crypto/tls
// does not treat as fatal.
//
// The package must not know about EAP framing or RADIUS.
package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned once the tunnel has been closed or timed out.
var ErrClosed = errors.New("tunnel: closed")

// ErrHandshakeDone is returned by Step after the handshake has finished.
var ErrHandshakeDone = errors.New("tunnel: handshake already finished")

// maxApp bounds the plaintext one ReadApp call returns.
const maxApp = 64 << 10

// Tunnel is one TLS connection carried by EAP. Its methods must not be called
// concurrently, except Close, which may be called at any time.
type Tunnel struct {
	conn   *tls.Conn
	p      *pipe
	cancel context.CancelFunc

	exited chan struct{} // closed when the handshake goroutine returns
	herr   error         // the handshake's result, readable after exited

	running     bool
	established bool
}

// Server starts the server side of a tunnel. It returns after the handshake
// goroutine is waiting for the ClientHello.
func Server(ctx context.Context, cfg *tls.Config, timeout time.Duration) (*Tunnel, error) {
	t, _, err := start(ctx, func(c net.Conn) *tls.Conn { return tls.Server(c, cfg) }, timeout)
	return t, err
}

// Client starts the client side of a tunnel and returns the ClientHello.
func Client(ctx context.Context, cfg *tls.Config, timeout time.Duration) (*Tunnel, []byte, error) {
	return start(ctx, func(c net.Conn) *tls.Conn { return tls.Client(c, cfg) }, timeout)
}

func start(ctx context.Context, mk func(net.Conn) *tls.Conn, timeout time.Duration) (*Tunnel, []byte, error) {
	p := &pipe{
		feed:   make(chan []byte),
		yield:  make(chan []byte),
		closed: make(chan struct{}),
	}
	hctx, cancel := context.WithTimeout(context.Background(), timeout)
	t := &Tunnel{conn: mk(p), p: p, cancel: cancel, exited: make(chan struct{}), running: true}
	go func() {
		defer close(t.exited)
		t.herr = t.conn.HandshakeContext(hctx)
	}()
	out, done, err := t.wait(ctx)
	if err != nil {
		return nil, nil, err
	}
	if done {
		// A handshake cannot finish before hearing from the other side.
		t.Close()
		return nil, nil, errors.New("tunnel: handshake finished without input")
	}
	return t, out, nil
}

// Step feeds one TLS message from the other side into the handshake and
// returns what the handshake wrote in answer. done reports that the handshake
// has finished; application data that came with its last flight is then
// waiting for ReadApp.
func (t *Tunnel) Step(ctx context.Context, in []byte) (out []byte, done bool, err error) {
	if !t.running {
		return nil, false, ErrHandshakeDone
	}
	if err := ctx.Err(); err != nil {
		t.Close()
		return nil, false, err
	}
	select {
	case t.p.feed <- in:
	case <-t.exited:
		// Closed while we were away.
		t.running = false
		return nil, false, ErrClosed
	case <-ctx.Done():
		t.Close()
		return nil, false, ctx.Err()
	}
	return t.wait(ctx)
}

// wait runs until the handshake goroutine yields or returns.
func (t *Tunnel) wait(ctx context.Context) (out []byte, done bool, err error) {
	select {
	case out := <-t.p.yield:
		return out, false, nil
	case <-t.exited:
		t.running = false
		t.cancel()
		if t.herr != nil {
			t.Close()
			return nil, false, t.herr
		}
		t.established = true
		t.p.sync = true
		out, t.p.out = t.p.out, nil
		return out, true, nil
	case <-ctx.Done():
		t.Close()
		return nil, false, ctx.Err()
	}
}

// Handshaking reports whether the handshake goroutine is still running.
func (t *Tunnel) Handshaking() bool {
	select {
	case <-t.exited:
		return false
	default:
		return true
	}
}

// Established reports whether the handshake has finished successfully.
func (t *Tunnel) Established() bool { return t.established }

// ConnectionState reports the negotiated parameters and gives access to the
// keying material exporter.
func (t *Tunnel) ConnectionState() tls.ConnectionState { return t.conn.ConnectionState() }

// ReadApp takes TLS records from the other side and returns the plaintext
// they carry. A record cut short stays buffered for the next call.
func (t *Tunnel) ReadApp(in []byte) ([]byte, error) {
	if !t.established {
		return nil, errors.New("tunnel: read before the handshake finished")
	}
	t.p.in = append(t.p.in, in...)
	var plain []byte
	buf := make([]byte, 4096)
	for {
		n, err := t.conn.Read(buf)
		plain = append(plain, buf[:n]...)
		if len(plain) > maxApp {
			t.Close()
			return nil, errors.New("tunnel: too much application data")
		}
		if err != nil {
			var wb wouldBlock
			if errors.As(err, &wb) {
				return plain, nil
			}
			t.Close()
			return nil, err
		}
	}
}

// WriteApp encrypts plain and returns the TLS records to send.
func (t *Tunnel) WriteApp(plain []byte) ([]byte, error) {
	if !t.established {
		return nil, errors.New("tunnel: write before the handshake finished")
	}
	if _, err := t.conn.Write(plain); err != nil {
		t.Close()
		return nil, err
	}
	out := t.p.out
	t.p.out = nil
	return out, nil
}

// Close ends the tunnel and, if a handshake is in flight, waits for its
// goroutine to return. It is safe to call more than once and concurrently
// with the other methods.
func (t *Tunnel) Close() {
	t.p.close()
	t.cancel()
	<-t.exited
}

// pipe is the net.Conn under the tls.Conn.
type pipe struct {
	in  []byte // owned by whoever holds the turn
	out []byte

	feed   chan []byte
	yield  chan []byte
	closed chan struct{}
	once   sync.Once
	sync   bool // after the handshake: reads that run dry return wouldBlock
}

func (p *pipe) close() { p.once.Do(func() { close(p.closed) }) }

func (p *pipe) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

func (p *pipe) Read(b []byte) (int, error) {
	for len(p.in) == 0 {
		if p.isClosed() {
			return 0, net.ErrClosed
		}
		if p.sync {
			return 0, wouldBlock{}
		}
		out := p.out
		p.out = nil
		select {
		case p.yield <- out:
		case <-p.closed:
			return 0, net.ErrClosed
		}
		select {
		case in := <-p.feed:
			p.in = in
		case <-p.closed:
			return 0, net.ErrClosed
		}
	}
	n := copy(b, p.in)
	p.in = p.in[n:]
	return n, nil
}

func (p *pipe) Write(b []byte) (int, error) {
	if p.isClosed() {
		return 0, net.ErrClosed
	}
	p.out = append(p.out, b...)
	return len(b), nil
}

func (p *pipe) Close() error {
	p.close()
	return nil
}

func (p *pipe) LocalAddr() net.Addr              { return addr{} }
func (p *pipe) RemoteAddr() net.Addr             { return addr{} }
func (p *pipe) SetDeadline(time.Time) error      { return nil }
func (p *pipe) SetReadDeadline(time.Time) error  { return nil }
func (p *pipe) SetWriteDeadline(time.Time) error { return nil }

type addr struct{}

func (addr) Network() string { return "eap" }
func (addr) String() string  { return "eap" }

// wouldBlock tells crypto/tls that input ran out for now. It is temporary, so
// tls.Conn keeps its state and a later Read continues where this one stopped.
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tunnel: waiting for more input" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }
