package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"keystage.dev/keystage/directory"
)

// Secrets opens an account's live Wi-Fi credential; (*directory.Directory)
// provides it. The credential is the person's own Wi-Fi password, never
// their login password.
type Secrets interface {
	WiFiSecret(ctx context.Context, a directory.Account) (string, error)
}

// Config is the RADIUS frontend's configuration, decoded by the command
// from the [radius] section.
type Config struct {
	// Policies give the Access-Accept attributes of group members; the
	// first policy whose group the account is in wins (see Policy). They
	// are used only while the directory holds no network policy (see
	// NetworkPolicies).
	Policies []Policy
	// NetworkPolicies, when set, is the set of policies in force shared
	// with the web filter; nil: New makes one from the store and Policies.
	NetworkPolicies *NetworkPolicies
	// QuarantineVLAN, when set, accepts an account whose only fault is an
	// unsigned AUP or missing parental consent into this VLAN, which should
	// reach nothing but the portal.
	QuarantineVLAN string
	// ReplyMessages sends a Reply-Message saying why with each reject.
	ReplyMessages bool
	// Realms are the realms taken off a User-Name of the form
	// NAME@realm (compared without regard to case); a name with any other
	// realm matches no account.
	Realms []string
	// Location formats the times in Reply-Messages (nil: the gate's).
	Location *time.Location
	// Retention keeps accounting sessions this long after they stop
	// (0: forever).
	Retention time.Duration

	// FactsTTL bounds how long the gate's facts about an account are reused
	// between requests: a change made on another node (or outside
	// Directory.AccessEnded) takes effect within it. Default 5s; negative
	// disables the cache.
	FactsTTL time.Duration
	// ReplyTTL is how long a reply is kept for retransmissions. Default 30s.
	ReplyTTL time.Duration
	// MaxPending bounds the reply cache; when it is full the oldest
	// answers are forgotten first. Default 65536.
	MaxPending int
	// Workers is the number of goroutines reading and answering each
	// port, and so bounds the requests answered at once on a port.
	// Default 64.
	Workers int
	// ClientRefresh is how often NAS clients are reloaded. Default 30s.
	ClientRefresh time.Duration
	// AuditPoll is how often the audit trail is read for changes to
	// accounts made elsewhere (see watch.go), when the store does not tell
	// of them sooner. Default 2s.
	AuditPoll time.Duration
	// UseFlush is how often last-use times are written. Default 1m.
	UseFlush time.Duration
	// DisconnectTimeout and DisconnectTries pace a Disconnect-Request.
	// Defaults 2s and 3.
	DisconnectTimeout time.Duration
	DisconnectTries   int

	// EAP answers Access-Requests that carry EAP-Message; nil drops them.
	EAP EAPHandler
	// Accounting hears of accounting records and of sessions ended by a
	// Disconnect (the web filter's forwarder); nil: none.
	Accounting AccountingSink
}

func (c Config) withDefaults() Config {
	if c.FactsTTL == 0 {
		c.FactsTTL = 5 * time.Second
	}
	if c.ReplyTTL <= 0 {
		c.ReplyTTL = 30 * time.Second
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 65536
	}
	if c.Workers <= 0 {
		c.Workers = 64
	}
	if c.ClientRefresh <= 0 {
		c.ClientRefresh = 30 * time.Second
	}
	if c.AuditPoll <= 0 {
		c.AuditPoll = 2 * time.Second
	}
	if c.UseFlush <= 0 {
		c.UseFlush = time.Minute
	}
	if c.DisconnectTimeout <= 0 {
		c.DisconnectTimeout = 2 * time.Second
	}
	if c.DisconnectTries <= 0 {
		c.DisconnectTries = 3
	}
	return c
}

// Server is the RADIUS frontend. Make it with New, then Serve.
type Server struct {
	cfg     Config
	store   Store
	d       Directory
	secrets Secrets
	log     *slog.Logger

	clients atomic.Pointer[clientTable]
	replies *replyCache
	facts   *factCache
	uses    *useLog
	heard   *heardLog
	count   counters
	// policies are the network policies in force (approved in the
	// directory, or the configuration's), and devices the known devices
	// seen, written with the last-use times.
	policies *NetworkPolicies
	// policyAttrs are the policies' attributes, made once.
	policyAttrs *policyAttrs
	devices     *deviceLog
	// refusals limits the log lines of drops and rejects per source.
	refusals *refusalLog

	auditSeq int64         // the last audit event followed
	nudge    chan struct{} // the store told of a change: follow the trail now
	// trailFailing is set while reading the audit trail fails; only the
	// housekeeping goroutine touches it.
	trailFailing bool
	// reloadNudge: the store told of a change to the NAS clients.
	reloadNudge chan struct{}
	ready       chan struct{} // closed once Serve hears of the store's changes
	readyOnce   sync.Once
	// starts are the suspensions still to start, soonest first, and
	// startsDone the instant up to which their starts have been acted on
	// (both housekeeping's own; see starts.go).
	starts     []directory.Suspension
	startsDone time.Time
	bg         sync.WaitGroup // disconnects in flight
	endingMu   sync.Mutex
	ending     map[string]bool // accounts whose sessions are being ended
}

// New makes a server answering for the accounts in st, asking d the
// rest, with their Wi-Fi credentials from secrets. It loads the NAS
// clients once, so that a store that cannot be read fails here rather than
// at the first request.
func New(ctx context.Context, st Store, d Directory, secrets Secrets, cfg Config) (*Server, error) {
	if st == nil || d == nil || secrets == nil {
		return nil, errors.New("radius: a store, a directory and a source of Wi-Fi secrets are needed")
	}
	if d.Sealer() == nil {
		return nil, errors.New("radius: the directory has no keyring to open NAS secrets with")
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:         cfg,
		store:       st,
		d:           d,
		secrets:     secrets,
		log:         d.Log().With("frontend", "radius"),
		replies:     newReplyCache(cfg.ReplyTTL, cfg.MaxPending),
		facts:       newFactCache(cfg.FactsTTL),
		uses:        newUseLog(),
		heard:       newHeardLog(),
		devices:     newDeviceLog(),
		policies:    cfg.NetworkPolicies,
		policyAttrs: newPolicyAttrs(),
		refusals:    newRefusalLog(),
		ending:      make(map[string]bool),
		nudge:       make(chan struct{}, 1),
		reloadNudge: make(chan struct{}, 1),
		ready:       make(chan struct{}),
	}
	if err := s.ReloadClients(ctx); err != nil {
		return nil, err
	}
	if s.policies == nil {
		var err error
		if s.policies, err = NewNetworkPolicies(ctx, st, cfg.Policies); err != nil {
			return nil, err
		}
	}
	// The audit trail is followed from here: what changed before is in
	// the store already.
	var err error
	if s.auditSeq, _, err = st.AuditHead(ctx); err != nil {
		return nil, fmt.Errorf("radius: reading the audit trail: %w", err)
	}
	return s, nil
}

// reloadClients reloads on housekeeping's behalf, logging a failure: the
// clients loaded before stay in force.
func (s *Server) reloadClients(ctx context.Context) {
	if err := s.ReloadClients(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("reloading NAS clients", "err", err)
	}
}

// Ready is closed once the serving server follows the store's change
// notifications (where the store has them): a change committed after it
// is heard at once. Tests that make changes on another node wait for it.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// ReloadClients reads the NAS clients again (after `keystage nas add`, or
// on a timer while serving).
func (s *Server) ReloadClients(ctx context.Context) error {
	t, problems, err := loadClients(ctx, s.store, s.d.Sealer())
	if err != nil {
		return err
	}
	for _, p := range problems {
		s.log.Error("NAS client left out", "err", p)
	}
	s.clients.Store(t)
	return nil
}

// Serve answers Access-Requests on auth and Accounting-Requests on acct
// (either may be nil) until ctx ends, then waits for the requests being
// answered, writes the pending last-use times and returns. It closes the
// connections.
func (s *Server) Serve(ctx context.Context, auth, acct net.PacketConn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, pc := range []struct {
		conn net.PacketConn
		auth bool
	}{{auth, true}, {acct, false}} {
		if pc.conn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.serveConn(ctx, pc.conn, pc.auth)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.housekeeping(ctx)
	}()
	<-ctx.Done()
	for _, c := range []net.PacketConn{auth, acct} {
		if c != nil {
			c.Close()
		}
	}
	wg.Wait()
	s.bg.Wait()
	flushCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	s.flushUses(flushCtx)
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// socketBuffer is what the kernel is asked to queue on each socket (it
// may give less: net.core.rmem_max), so that a burst of requests while
// every worker is busy waits rather than being dropped.
const socketBuffer = 4 << 20

// serveConn answers the datagrams on conn with Config.Workers goroutines
// that each read one, answer it and write the reply themselves: no
// goroutine is started and no datagram handed over per request, each
// worker's read buffer and grown stack serve all its requests, and at
// most Workers requests are answered at once on a port. Reads on one
// socket are taken in turn, so a worker busy with a slow request (a store
// read, a burst of accounting) holds up none of the others.
func (s *Server) serveConn(ctx context.Context, conn net.PacketConn, auth bool) error {
	if u, ok := conn.(*net.UDPConn); ok {
		u.SetReadBuffer(socketBuffer)
		u.SetWriteBuffer(socketBuffer)
	}
	var wg sync.WaitGroup
	errs := make(chan error, s.cfg.Workers)
	for range s.cfg.Workers {
		wg.Go(func() {
			if err := s.work(ctx, conn, auth); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// work is one worker of serveConn: it reads and answers until ctx ends or
// the connection fails.
func (s *Server) work(ctx context.Context, conn net.PacketConn, auth bool) error {
	udp, _ := conn.(*net.UDPConn)
	buf := make([]byte, layeh.MaxPacketLength+1)
	for {
		var (
			n         int
			from, src netip.AddrPort
			addr      net.Addr
			err       error
		)
		if udp != nil {
			// The AddrPort calls allocate no net.Addr per datagram.
			n, from, err = udp.ReadFromUDPAddrPort(buf)
		} else {
			n, addr, err = conn.ReadFrom(buf)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("radius: read: %w", err)
		}
		if udp != nil {
			src = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		} else {
			var ok bool
			if src, ok = addrPort(addr); !ok {
				continue
			}
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		// HandlePacket keeps nothing of buf: parse copies the packet.
		reply := s.HandlePacket(rctx, src, buf[:n], auth)
		cancel()
		if reply == nil {
			continue
		}
		if udp != nil {
			_, err = udp.WriteToUDPAddrPort(reply, from)
		} else {
			_, err = conn.WriteTo(reply, addr)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("radius: write reply", "to", src.String(), "err", err)
		}
	}
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap, err == nil
}

// housekeeping reloads clients, follows the audit trail, writes last-use
// times and purges old sessions on timers.
func (s *Server) housekeeping(ctx context.Context) {
	reload := time.NewTicker(s.cfg.ClientRefresh)
	flush := time.NewTicker(s.cfg.UseFlush)
	purge := time.NewTicker(time.Hour)
	watch := time.NewTicker(s.cfg.AuditPoll)
	defer watch.Stop()
	defer reload.Stop()
	defer flush.Stop()
	defer purge.Stop()
	s.purge(ctx)
	s.startsDone = s.d.Now()
	s.loadStarts(ctx)
	seq := s.auditSeq
	s.watchStore(ctx)
	s.readyOnce.Do(func() { close(s.ready) })
	for {
		select {
		case <-ctx.Done():
			return
		case <-watch.C:
			s.followTrail(ctx, &seq)
			s.dueStarts(ctx)
		case <-s.nudge:
			s.followTrail(ctx, &seq)
		case <-reload.C:
			s.reloadClients(ctx)
		case <-s.reloadNudge:
			s.reloadClients(ctx)
		case <-flush.C:
			s.flushUses(ctx)
		case <-purge.C:
			s.purge(ctx)
		}
	}
}

func (s *Server) purge(ctx context.Context) {
	if s.cfg.Retention <= 0 {
		return
	}
	n, err := s.store.PurgeSessions(ctx, s.d.Now().Add(-s.cfg.Retention))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("purging accounting sessions", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.Info("purged accounting sessions past retention", "count", n)
	}
}

// HandlePacket answers one datagram from src on the authentication port
// (auth) or the accounting port. It returns the reply, or nil when the
// packet is to be dropped. It is what Serve calls for each datagram and
// what the fuzz target drives.
func (s *Server) HandlePacket(ctx context.Context, src netip.AddrPort, b []byte, auth bool) []byte {
	c := s.clients.Load().lookup(src.Addr())
	if c == nil {
		s.count.unknownClient.Add(1)
		s.logRefusal(ctx, slog.LevelWarn, src, "radius: request dropped",
			"unknown client: no NAS client holds this address; add the access point with keystage nas add")
		return nil
	}
	raw, p, err := parse(b, c.secret)
	if err != nil {
		s.count.malformed.Add(1)
		s.logRefusal(ctx, slog.LevelWarn, src, "radius: request dropped", "malformed packet: "+err.Error(), "nas", c.name)
		return nil
	}
	switch {
	case auth && (p.Code == layeh.CodeAccessRequest || p.Code == layeh.CodeStatusServer):
		// Message-Authenticator is required on every request to this port
		// (RFC 5997 requires it on Status-Server too).
		sg := c.signer()
		err := checkMsgAuth(raw, sg, true)
		c.release(sg)
		if err != nil {
			s.countAuthErr(err)
			s.logRefusal(ctx, slog.LevelWarn, src, "radius: request dropped", msgAuthReason(err), "nas", c.name)
			return nil
		}
	case !auth && p.Code == layeh.CodeAccountingRequest:
		sg := c.signer()
		authErr := checkRequestAuthenticator(raw, sg)
		var macErr error
		if authErr == nil {
			macErr = checkMsgAuth(raw, sg, false)
		}
		c.release(sg)
		if authErr != nil {
			s.count.badAuth.Add(1)
			s.logRefusal(ctx, slog.LevelWarn, src, "radius: request dropped",
				"Request Authenticator wrong: the shared secret on the NAS is not the one given to keystage nas add", "nas", c.name)
			return nil
		}
		if macErr != nil {
			s.countAuthErr(macErr)
			s.logRefusal(ctx, slog.LevelWarn, src, "radius: request dropped", msgAuthReason(macErr), "nas", c.name)
			return nil
		}
	default:
		s.count.unexpectedCode.Add(1)
		s.logRefusal(ctx, slog.LevelWarn, src, "radius: request dropped",
			fmt.Sprintf("packet code %d is not answered on this port", p.Code), "nas", c.name)
		return nil
	}
	// Only a packet that proved the shared secret counts as the NAS heard.
	s.heard.note(c.name, time.Now())
	key := cacheKey(src, raw)
	switch state, reply := s.replies.begin(key, time.Now()); state {
	case cacheAnswered:
		s.count.retransmits.Add(1)
		return reply
	case cacheBusy:
		s.count.inFlight.Add(1)
		return nil
	case cacheFull:
		s.count.overload.Add(1)
		return nil
	}
	var reply []byte
	defer func() { s.replies.finish(key, reply) }()
	var resp *layeh.Packet
	switch p.Code {
	case layeh.CodeAccessRequest:
		s.count.accessRequests.Add(1)
		resp = s.access(ctx, c, src, p)
	case layeh.CodeStatusServer:
		s.count.accessRequests.Add(1)
		resp = p.Response(layeh.CodeAccessAccept)
	case layeh.CodeAccountingRequest:
		s.count.accountingRequests.Add(1)
		resp = s.accounting(ctx, c, src, p)
	}
	if resp == nil {
		return nil
	}
	// A proxy between the NAS and us matches replies by Proxy-State, which
	// must come back unchanged and in order (RFC 2865 5.33).
	for _, a := range p.Attributes {
		if a.Type == rfc2865.ProxyState_Type {
			resp.Add(rfc2865.ProxyState_Type, a.Attribute)
		}
	}
	sg := c.signer()
	out, err := encodeReply(resp, p.Authenticator, sg)
	c.release(sg)
	if err != nil {
		s.log.Error("radius: encoding reply", "nas", c.name, "err", err)
		s.count.internal.Add(1)
		return nil
	}
	switch resp.Code {
	case layeh.CodeAccessAccept:
		s.count.accepts.Add(1)
	case layeh.CodeAccessReject:
		s.count.rejects.Add(1)
	case layeh.CodeAccessChallenge:
		s.count.challenges.Add(1)
	case layeh.CodeAccountingResponse:
		s.count.accountingResponses.Add(1)
	}
	reply = out
	return out
}

func (s *Server) countAuthErr(err error) {
	switch {
	case errors.Is(err, ErrNoMsgAuth):
		s.count.noMsgAuth.Add(1)
	case errors.Is(err, ErrBadMsgAuth), errors.Is(err, ErrTooManyMsgAut):
		s.count.badMsgAuth.Add(1)
	default:
		s.count.malformed.Add(1)
	}
}

// cacheKey names a request by source, Identifier and Request
// Authenticator (RFC 5080 2.2.2).
func cacheKey(src netip.AddrPort, raw []byte) replyKey {
	k := replyKey{src: src, id: raw[1]}
	copy(k.auth[:], raw[4:20])
	return k
}
