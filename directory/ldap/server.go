package ldapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
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
	// LockoutExempt are source addresses whose failed binds do not lock
	// the address out (accounts still lock): an application server such
	// as Moodle binds for every user from one address, and five people
	// mistyping must not lock the whole school out of it.
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
	Log         *slog.Logger
	// Bound, when set, is told of every successful bind of a person or a
	// service account, with the client's address (the web filter's
	// announcement). It must return at once.
	Bound func(ctx context.Context, a directory.Account, addr string)
}

// Server answers LDAP over a directory.
type Server struct {
	dir  *directory.Directory
	cfg  Config
	tree tree
	log  *slog.Logger
	dse  *entry
	sub  *entry

	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup

	watchOnce sync.Once // see watch.go
}

// New checks the configuration and makes a Server.
func New(d *directory.Directory, cfg Config) (*Server, error) {
	rdns, err := parseDN(cfg.BaseDN)
	if err != nil || len(rdns) == 0 {
		return nil, fmt.Errorf("ldap base DN %q: want something like dc=school,dc=example", cfg.BaseDN)
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = 256 << 10
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
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{dir: d, cfg: cfg, log: log, conns: map[*conn]struct{}{},
		tree: tree{base: cfg.BaseDN, baseNorm: strings.Join(rdns, ","), baseRDNs: rdns}}
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
		c := newConn(s, nc, implicitTLS)
		s.mu.Lock()
		if ctx.Err() != nil {
			s.mu.Unlock()
			nc.Close()
			break
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve(ctx)
			s.mu.Lock()
			delete(s.conns, c)
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
