package ldapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"keystage.dev/keystage/directory"
)

// Grant is what a service account may read besides its own entry.
type Grant struct {
	People   bool // every person's entry
	Groups   bool // every group
	Services bool // other service accounts
}

// Config is the frontend's configuration, decoded by the command.
type Config struct {
	// BaseDN is the suffix served, e.g. dc=school,dc=example.
	BaseDN string
	// Domain lets people bind as NAME@Domain; empty: only DN and bare name.
	Domain string
	// TLS serves StartTLS and LDAPS; nil serves neither.
	TLS *tls.Config
	// Grants are the service accounts' read rights, by username.
	Grants map[string]Grant
	// AllowCleartextBinds lets simple binds without TLS come from other
	// hosts than this one. Off by default: a password must not cross a
	// network in clear.
	AllowCleartextBinds bool
	// LockoutExempt are trusted source addresses, familiar to every
	// account (see directory.Lockout): an application server such as
	// Moodle binds for every user, and its service account, from one
	// address; failures from it never block it, and count only towards
	// each account's own familiar counter.
	LockoutExempt []netip.Prefix
	// MaxMessage bounds one request in bytes (default 256 KiB).
	MaxMessage int
	// MaxTime bounds one request (default 30 s); a client's smaller time
	// limit wins.
	MaxTime time.Duration
	// IdleTimeout closes a connection that sends nothing (default 10 min).
	IdleTimeout time.Duration
	// MaxInFlight bounds the concurrent requests of one connection
	// (default 16): reading stops until one finishes.
	MaxInFlight int
	// MaxConns bounds the open connections (default 4096), and
	// MaxConnsPerAddr those from one address, or one IPv6 /64 (default
	// 256). A connection over either is refused at accept.
	MaxConns        int
	MaxConnsPerAddr int
	// FrameTimeout bounds the time from a request's first byte to its
	// last (default 10 s): a client that starts a message and stops holds
	// its connection no longer.
	FrameTimeout time.Duration
	// BindTimeout closes a connection that has not bound within it of
	// being accepted (default 30 s): before a bind only the root DSE can
	// be read, and StartTLS and the bind follow at once in every client.
	BindTimeout time.Duration
	// MaxFilterTerms bounds the parts of a search filter (every AND, OR,
	// NOT and assertion counts one; default 512); a larger filter is
	// answered adminLimitExceeded.
	MaxFilterTerms int
	// MaxSearches bounds the searches running at once on the whole server
	// (default 1 per CPU, at least 2), and MaxSearchesPerAddr those from
	// one address, or IPv6 /64, however many connections it opens (default
	// 1); more wait their turn. Binds are not counted, so that signing in
	// keeps its latency while searches queue. Measured on two cores, one
	// search at a time from a flooding address answered three times as many
	// searches as two and left binds four times faster
	// (docs/benchmarks/ldap.md): searches contend for the store and the
	// collector, so running more at once does not finish more.
	MaxSearches        int
	MaxSearchesPerAddr int
	Log                *slog.Logger
	// Bound, when set, is told of every successful bind of a person or a
	// service account, with the client's address (the web filter's
	// announcement). It must return at once.
	Bound func(ctx context.Context, a directory.Account, addr string)
}

// The bounds' defaults (see Config).
const (
	DefaultMaxConns           = 4096
	DefaultMaxConnsPerAddr    = 256
	DefaultFrameTimeout       = 10 * time.Second
	DefaultBindTimeout        = 30 * time.Second
	DefaultMaxFilterTerms     = 512
	DefaultMaxSearchesPerAddr = 1
	DefaultMaxMessage         = 256 << 10
)

// Server answers LDAP over a directory.
type Server struct {
	store Reader
	dir   Directory
	cfg   Config
	tree  tree
	log   *slog.Logger
	dse   *entry
	sub   *entry

	mu             sync.Mutex
	conns          map[*conn]struct{}
	perSource      map[netip.Prefix]int // open connections by sourceKey
	lastRefusalLog time.Time
	wg             sync.WaitGroup

	searches      chan struct{}                 // a place for each search that may run at once
	searchSources map[netip.Prefix]*sourceSlots // by sourceKey, under mu

	watchOnce sync.Once // see watch.go
}

// New checks the configuration and makes a Server that reads accounts
// and groups from r and asks d the rest.
func New(r Reader, d Directory, cfg Config) (*Server, error) {
	rdns, err := parseDN(cfg.BaseDN)
	if err != nil || len(rdns) == 0 {
		return nil, fmt.Errorf("ldap base DN %q: want something like dc=school,dc=example", cfg.BaseDN)
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = DefaultMaxMessage
	}
	if cfg.MaxTime <= 0 {
		cfg.MaxTime = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 16
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxConnsPerAddr <= 0 {
		cfg.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if cfg.FrameTimeout <= 0 {
		cfg.FrameTimeout = DefaultFrameTimeout
	}
	if cfg.BindTimeout <= 0 {
		cfg.BindTimeout = DefaultBindTimeout
	}
	if cfg.MaxFilterTerms <= 0 {
		cfg.MaxFilterTerms = DefaultMaxFilterTerms
	}
	if cfg.MaxSearches <= 0 {
		cfg.MaxSearches = max(2, runtime.GOMAXPROCS(0))
	}
	if cfg.MaxSearchesPerAddr <= 0 {
		cfg.MaxSearchesPerAddr = DefaultMaxSearchesPerAddr
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: r, dir: d, cfg: cfg, log: log, conns: map[*conn]struct{}{},
		perSource: map[netip.Prefix]int{}, searches: make(chan struct{}, cfg.MaxSearches),
		searchSources: map[netip.Prefix]*sourceSlots{},
		tree:          newTree(cfg.BaseDN, rdns)}
	s.dse = s.rootDSE()
	s.sub = subschemaEntry()
	return s, nil
}

// Serve accepts plain LDAP connections (StartTLS upgrades them) on ln until
// ctx ends, then closes every connection and returns when their requests
// have finished.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, false)
}

// ServeTLS accepts LDAPS connections on ln.
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLS == nil {
		return errors.New("ldaps: no TLS certificate configured")
	}
	return s.serve(ctx, tls.NewListener(ln, s.cfg.TLS), true)
}

// ServeBoth accepts LDAP connections (StartTLS) on ln and, when tln is
// not nil, LDAPS connections on tln, until ctx ends, and returns the first
// error of either.
func (s *Server) ServeBoth(ctx context.Context, ln, tln net.Listener) error {
	errc := make(chan error, 2)
	n := 1
	go func() { errc <- s.Serve(ctx, ln) }()
	if tln != nil {
		n++
		go func() { errc <- s.ServeTLS(ctx, tln) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *Server) serve(ctx context.Context, ln net.Listener, implicitTLS bool) error {
	s.watchOnce.Do(func() { s.watchStore(ctx) })
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.close()
		}
		s.mu.Unlock()
	})
	defer stop()
	var err error
	for {
		var nc net.Conn
		nc, err = ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			break
		}
		src := sourceKey(nc.RemoteAddr())
		s.mu.Lock()
		if ctx.Err() != nil {
			s.mu.Unlock()
			nc.Close()
			break
		}
		if refusal := s.admitLocked(src); refusal != "" {
			s.mu.Unlock()
			s.refuse(nc, implicitTLS, refusal)
			continue
		}
		c := newConn(s, nc, implicitTLS)
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve(ctx)
			s.mu.Lock()
			delete(s.conns, c)
			s.releaseLocked(src)
			s.mu.Unlock()
		}()
	}
	s.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("ldap accept: %w", err)
}

// CheckBaseDN reports whether s can be the suffix served.
func CheckBaseDN(s string) error {
	rdns, err := parseDN(s)
	if err != nil || len(rdns) == 0 {
		return fmt.Errorf("base DN %q: want something like dc=school,dc=example", s)
	}
	return nil
}

// Subtrees a service account can be granted.
const (
	GrantPeople   = "people"
	GrantGroups   = "groups"
	GrantServices = "services"
)

// ParseGrant reads a grant written as a list of subtrees.
func ParseGrant(subtrees []string) (Grant, error) {
	var g Grant
	for _, s := range subtrees {
		switch s {
		case GrantPeople:
			g.People = true
		case GrantGroups:
			g.Groups = true
		case GrantServices:
			g.Services = true
		default:
			return g, fmt.Errorf("%q: grant people, groups or services", s)
		}
	}
	return g, nil
}
