package eap

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"keystage.dev/keystage/radius/eap/internal/tunnel"
	"keystage.dev/keystage/radius/eap/wire"
)

// Server runs EAP conversations. Its methods are safe for concurrent use;
// packets of one conversation are handled one at a time.
type Server struct {
	cfg     Config
	tls     *tls.Config
	backend Backend
	log     *slog.Logger
	store   store
	// cookieKey authenticates the State of a Start, so that the first
	// round trip keeps no state (cookie.go).
	cookieKey [32]byte
}

// Close ends every conversation in flight, including their TLS handshakes,
// and refuses new ones.
func (s *Server) Close() { s.store.close() }

// Sweep drops the conversations that have expired. Handle sweeps as it goes;
// a caller that wants abandoned handshakes freed on a quiet server calls Sweep
// from a timer.
func (s *Server) Sweep() { s.store.sweep(s.cfg.Now()) }

// RunSweeps calls Sweep every interval until ctx ends, so that abandoned
// handshakes are freed on a quiet server.
func (s *Server) RunSweeps(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Conversations reports how many conversations are in flight.
func (s *Server) Conversations() int { return s.store.len() }

// Evicted reports how many conversations were ended early since the start
// to make room for new ones (see store).
func (s *Server) Evicted() uint64 {
	_, _, n := s.store.stats("")
	return n
}

type phase int

const (
	phaseStart     phase = iota // method Start sent; expecting a ClientHello or a NAK
	phaseHandshake              // TLS handshake in flight
	phaseInner                  // tunnel up; inner method running
)

type innerState int

const (
	innerBegin innerState = iota
	peapIdentitySent
	peapChallengeSent
	peapSuccessSent
	peapFailureSent
	peapResultSent
	ttlsSuccessSent
)

// conversation is one EAP authentication in flight.
type conversation struct {
	key     string // the State attribute
	expires time.Time
	slot    slot // guarded by the store's lock
	dead    atomic.Bool
	tun     atomic.Pointer[tunnel.Tunnel]

	mu         sync.Mutex
	steps      int
	reqID      uint8 // identifier of the latest request sent
	lastResp   []byte
	lastResult Result
	method     Method
	tried      []Method
	phase      phase
	outer      string
	rx         wire.Reassembler
	tx         wire.Fragmenter

	inner     innerState
	user      string
	secret    Secret
	known     bool
	challenge [16]byte
	msid      uint8
	ok        bool
	reason    string
}

// Handle advances one conversation by one EAP packet. from is the NAS and
// device it came through, which bound how many conversations each may hold;
// state is the State attribute of the Access-Request (nil on the first);
// eapMsg is its EAP-Message attributes joined. An error means: drop the
// request without answering (ErrMalformed, ErrStale); otherwise the Result
// says what to send.
func (s *Server) Handle(ctx context.Context, from Origin, state []byte, eapMsg []byte) (Result, error) {
	p, err := wire.Parse(eapMsg)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if p.Code != wire.CodeResponse {
		return Result{}, fmt.Errorf("%w: code %d is not a response", ErrMalformed, p.Code)
	}
	now := s.cfg.Now()
	if len(state) == 0 {
		return s.begin(from, p, now), nil
	}
	c := s.store.get(state, now)
	if c == nil {
		if c = s.resume(from, state, now); c == nil {
			return failure(p.ID, "", "The Wi-Fi sign-in took too long or was interrupted: try connecting again."), nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead.Load() {
		return failure(p.ID, c.user, "The Wi-Fi sign-in took too long: try connecting again."), nil
	}
	// The NAS resends a request the peer retransmitted; answer it again
	// rather than advance the conversation twice.
	if bytes.Equal(eapMsg, c.lastResp) {
		return c.lastResult, nil
	}
	if p.ID != c.reqID {
		return Result{}, fmt.Errorf("%w: identifier %d, expected %d", ErrStale, p.ID, c.reqID)
	}
	var res Result
	c.steps++
	if c.steps > maxSteps {
		res = c.reject("too many packets in one authentication")
	} else {
		res = s.step(ctx, c, p)
	}
	if res.Outcome == Challenge {
		c.lastResp = slices.Clone(eapMsg)
		c.lastResult = res
		return res, nil
	}
	s.store.remove(c)
	s.logEnd(c, res)
	return res, nil
}

func (s *Server) logEnd(c *conversation, res Result) {
	attrs := []any{"method", c.method.String(), "outer", c.outer, "user", c.user, "resumed", res.Resumed}
	if res.Outcome == Accept {
		s.log.Info("eap accept", attrs...)
		return
	}
	s.log.Info("eap reject", append(attrs, "reason", res.Reason)...)
}

// begin answers the peer's Identity response with the first method's
// Start. Nothing is stored: State carries a cookie, and the conversation is
// stored when the peer answers it (resume).
func (s *Server) begin(from Origin, p wire.Packet, now time.Time) Result {
	if p.Type != wire.TypeIdentity {
		return failure(p.ID, "", "The device must start with its identity.")
	}
	outer := p.Data
	if len(outer) > 253 || !utf8.Valid(outer) {
		return failure(p.ID, "", "The identity the device sent is not valid.")
	}
	c := conversation{reqID: p.ID}
	res := c.start(s.cfg.Methods[0])
	res.State = s.makeCookie(from, cookieFields{issued: now, method: c.method, id: c.reqID, outer: string(outer)})
	return res
}

// resume stores the conversation a cookie describes, when state is one
// this server made for this origin and it has not expired; nil otherwise.
// A retransmission of the answer finds the conversation by the same
// cookie.
func (s *Server) resume(from Origin, state []byte, now time.Time) *conversation {
	f, ok := s.openCookie(state, from, now)
	if !ok {
		return nil
	}
	c := &conversation{
		outer:   f.outer,
		expires: now.Add(s.cfg.ConversationTTL),
		reqID:   f.id,
		method:  f.method,
		tried:   []Method{f.method},
		phase:   phaseStart,
		slot:    slot{from: from, cookie: string(state)},
	}
	c.rx.Max = maxTLSMessage
	if !s.store.add(c, now) {
		return nil
	}
	return c
}

// start offers a method.
func (c *conversation) start(m Method) Result {
	c.method = m
	c.tried = append(c.tried, m)
	c.phase = phaseStart
	return c.request(wire.TLSFrame{Flags: wire.FlagStart}.Marshal())
}

// request builds the next EAP request of the conversation's method.
func (c *conversation) request(data []byte) Result {
	c.reqID++
	pkt := wire.Packet{Code: wire.CodeRequest, ID: c.reqID, Type: uint8(c.method), Data: data}
	return Result{Outcome: Challenge, EAPMessage: pkt.Marshal(), State: []byte(c.key), Method: c.method}
}

// reject ends the conversation with an EAP-Failure.
func (c *conversation) reject(reason string) Result {
	r := failure(c.reqID, c.user, reason)
	r.Method = c.method
	return r
}

func failure(id uint8, user, reason string) Result {
	pkt := wire.Packet{Code: wire.CodeFailure, ID: id}
	return Result{Outcome: Reject, EAPMessage: pkt.Marshal(), Username: user, Reason: reason}
}

// step handles one response that answers the latest request.
func (s *Server) step(ctx context.Context, c *conversation, p wire.Packet) Result {
	if p.Type == wire.TypeNak {
		if c.phase != phaseStart {
			return c.reject("the device refused the method part way through")
		}
		for _, m := range s.cfg.Methods {
			if !slices.Contains(c.tried, m) && bytes.IndexByte(p.Data, uint8(m)) >= 0 {
				return c.start(m)
			}
		}
		return c.reject(fmt.Sprintf("no EAP method in common: the device asked for %v; set it to PEAP or TTLS", p.Data))
	}
	if p.Type != uint8(c.method) {
		return c.reject(fmt.Sprintf("unexpected EAP type %d during %v", p.Type, c.method))
	}
	f, err := wire.ParseTLSFrame(p.Data)
	if err != nil {
		return c.reject("malformed " + c.method.String() + " packet")
	}
	if f.Flags&wire.VersionMask != 0 {
		return c.reject(fmt.Sprintf("%v version %d not supported; use version 0", c.method, f.Flags&wire.VersionMask))
	}
	if c.tx.Pending() {
		if !f.IsAck() {
			return c.reject("expected an acknowledgement of a fragment")
		}
		return s.sendFragment(c)
	}
	if f.Flags&wire.FlagStart != 0 {
		return c.reject("the device sent a Start flag")
	}
	msg, complete, err := c.rx.Add(f)
	if err != nil {
		return c.reject("bad fragments: " + err.Error())
	}
	if !complete {
		return c.request(wire.TLSFrame{}.Marshal()) // acknowledge the fragment
	}
	return s.tlsMessage(ctx, c, msg)
}

// sendTLS queues TLS records for the peer and sends the first fragment; with
// nothing to send it sends an empty request, which asks the peer to go on.
func (s *Server) sendTLS(c *conversation, out []byte) Result {
	c.tx.Load(out)
	if !c.tx.Pending() {
		return c.request(wire.TLSFrame{}.Marshal())
	}
	return s.sendFragment(c)
}

func (s *Server) sendFragment(c *conversation) Result {
	return c.request(c.tx.Next(s.cfg.FragmentSize, 0).Marshal())
}

// tlsMessage handles one whole TLS message from the peer.
func (s *Server) tlsMessage(ctx context.Context, c *conversation, msg []byte) Result {
	switch c.phase {
	case phaseStart:
		if len(msg) == 0 {
			return c.reject("empty TLS message where a ClientHello was expected")
		}
		t, err := tunnel.Server(ctx, s.tls, s.cfg.ConversationTTL)
		if err != nil {
			return c.reject("could not start TLS: " + err.Error())
		}
		c.tun.Store(t)
		if c.dead.Load() {
			t.Close()
			return c.reject("the Wi-Fi sign-in took too long")
		}
		c.phase = phaseHandshake
		fallthrough
	case phaseHandshake:
		if len(msg) == 0 {
			return c.reject("empty TLS message during the handshake")
		}
		out, done, err := c.tun.Load().Step(ctx, msg)
		if err != nil {
			s.log.Debug("eap tls handshake", "outer", c.outer, "err", err)
			return c.reject("TLS handshake failed (check that the device trusts the server certificate): " + err.Error())
		}
		if !done {
			return s.sendTLS(c, out)
		}
		c.phase = phaseInner
		if len(out) > 0 {
			// A full handshake ends with our Finished; the inner method
			// starts when the peer answers it.
			return s.sendTLS(c, out)
		}
		msg = nil // a resumed handshake ends with the peer's Finished
	}
	t := c.tun.Load()
	plain, err := t.ReadApp(msg)
	if err != nil {
		return c.reject("TLS tunnel failed: " + err.Error())
	}
	var reply []byte
	var fin *Result
	switch c.method {
	case PEAP:
		reply, fin = s.peap(ctx, c, plain)
	case TTLS:
		reply, fin = s.ttls(ctx, c, plain)
	}
	if fin != nil {
		return *fin
	}
	var out []byte
	if len(reply) > 0 {
		if out, err = t.WriteApp(reply); err != nil {
			return c.reject("TLS tunnel failed: " + err.Error())
		}
	}
	return s.sendTLS(c, out)
}

// Keying material labels (RFC 5281 section 8; PEAPv0 as MS-PEAP 3.1.5.7).
const (
	labelPEAP          = "client EAP encryption"
	labelTTLS          = "ttls keying material"
	labelTTLSChallenge = "ttls challenge"
)

// accept ends the conversation with an EAP-Success and the MSK.
func (s *Server) accept(c *conversation) *Result {
	cs := c.tun.Load().ConnectionState()
	label := labelPEAP
	if c.method == TTLS {
		label = labelTTLS
	}
	msk, err := cs.ExportKeyingMaterial(label, nil, 64)
	if err != nil {
		s.log.Warn("eap keying material", "outer", c.outer, "user", c.user, "err", err)
		r := c.reject("the device's TLS lacks Extended Master Secret (RFC 7627): update the device")
		return &r
	}
	pkt := wire.Packet{Code: wire.CodeSuccess, ID: c.reqID}
	return &Result{
		Outcome:    Accept,
		EAPMessage: pkt.Marshal(),
		Username:   c.user,
		Method:     c.method,
		MSK:        msk,
		Resumed:    cs.DidResume,
	}
}

func (c *conversation) rejectp(reason string) *Result {
	r := c.reject(reason)
	return &r
}
