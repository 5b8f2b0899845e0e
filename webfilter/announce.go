package webfilter

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"keystage.dev/keystage/directory"
)

// Directory is what the web filter reads: a person's groups and who had an
// address when. directory.Store provides it.
type Directory interface {
	GroupsOf(ctx context.Context, accountID int64) ([]directory.Group, error)
	SessionsAt(ctx context.Context, ip string, t time.Time) ([]directory.Session, error)
}

// Announce configures the announcement of LDAP binds: a person's own bind
// from a desktop (SSSD, nslcd, a pGina-style agent) says "this person is at
// this address" until Lifetime passes without another bind.
type Announce struct {
	Enabled bool
	// Lifetime is how long one bind holds the address; default 1h.
	Lifetime time.Duration
	// Exclude are addresses never announced: application servers (Moodle),
	// terminal servers, anything that binds as many people from one
	// address, which would put one person's name on everyone's traffic.
	Exclude []netip.Prefix
	// ExcludeUsers are accounts never announced (service accounts never
	// are, whatever this says).
	ExcludeUsers []string
	// Policy gives the Filter-Id and Class of a person's groups (the RADIUS
	// policy's); nil: none.
	Policy func(groups []string) (filterID, class string)
	// Max bounds the addresses announced at once; default 65,536.
	Max int
}

// announcement is one person at one address.
type announcement struct {
	ev       Event // the Start, as sent
	lastBind time.Time
	interim  time.Time // when the last Interim-Update was sent
}

// announcer turns binds into Start, Interim-Update and Stop events. Binds
// come through a bounded channel and are looked up (the person's groups)
// on its own goroutine, so that a bind never waits for it.
type announcer struct {
	f       *Forwarder
	cfg     Announce
	dir     Directory
	binds   chan bind
	mu      sync.Mutex
	byAddr  map[string]*announcement
	ignored atomic.Uint64 // binds dropped: the channel or the table full
	// people are the distinct people who bound from an address lately,
	// and shared the addresses found binding for many (an application or
	// terminal server no one listed), ignored until the time given.
	people map[string][]seen
	shared map[string]time.Time
}

// seen is one person's latest bind from an address.
type seen struct {
	user string
	at   time.Time
}

// An address from which sharedPeople different people bind within
// sharedWindow is taken for a shared server, not a desktop: announcing it
// would put one person's name on everyone's traffic. It is left alone for
// sharedFor.
const (
	sharedPeople = 4
	sharedWindow = 10 * time.Minute
	sharedFor    = 24 * time.Hour
)

type bind struct {
	a    directory.Account
	addr netip.Addr
	at   time.Time
}

func newAnnouncer(f *Forwarder, cfg Announce, dir Directory) *announcer {
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = time.Hour
	}
	if cfg.Max <= 0 {
		cfg.Max = 65536
	}
	return &announcer{f: f, cfg: cfg, dir: dir, binds: make(chan bind, 1024), byAddr: make(map[string]*announcement),
		people: make(map[string][]seen), shared: make(map[string]time.Time)}
}

// Bound is told of every successful LDAP bind (the LDAP frontend's hook).
// It returns at once: what is announced, if anything, is decided later.
func (f *Forwarder) Bound(ctx context.Context, a directory.Account, addr string) {
	n := f.ann
	if !n.cfg.Enabled || a.Role == directory.RoleService || slices.Contains(n.cfg.ExcludeUsers, a.Username) {
		return
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsUnspecified() {
		// A bind from the server itself names no desktop.
		return
	}
	for _, p := range n.cfg.Exclude {
		if p.Contains(ip) {
			return
		}
	}
	select {
	case n.binds <- bind{a: a, addr: ip, at: f.now()}:
	default:
		n.ignored.Add(1)
	}
}

// AccessEnded stops at once the announcements of an account that lost
// access (there is no access point to ask first).
func (f *Forwarder) AccessEnded(ctx context.Context, a directory.Account) {
	n := f.ann
	n.mu.Lock()
	var stops []Event
	for k, x := range n.byAddr {
		if x.ev.Username == a.Username {
			stops = append(stops, n.stop(x, f.now(), "Admin-Reset"))
			delete(n.byAddr, k)
		}
	}
	n.mu.Unlock()
	for _, e := range stops {
		f.Enqueue(e)
	}
}

// run takes binds and expires announcements until ctx ends.
func (n *announcer) run(ctx context.Context) {
	if !n.cfg.Enabled {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(min(n.cfg.Lifetime/4, 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-n.binds:
			n.bound(ctx, b)
		case <-tick.C:
			n.expire(n.f.now())
		}
	}
}

// looksShared notes a bind and says whether its address binds for many
// people. The first time it does, the address's announcement is stopped.
func (n *announcer) looksShared(b bind, key string) (stop *Event, shared bool) {
	if until, ok := n.shared[key]; ok {
		if b.at.Before(until) {
			return nil, true
		}
		delete(n.shared, key)
	}
	recent := n.people[key][:0]
	for _, p := range n.people[key] {
		if b.at.Sub(p.at) < sharedWindow && p.user != b.a.Username {
			recent = append(recent, p)
		}
	}
	recent = append(recent, seen{user: b.a.Username, at: b.at})
	if len(recent) < sharedPeople {
		if len(n.people) < n.cfg.Max || n.people[key] != nil {
			n.people[key] = recent
		}
		return nil, false
	}
	delete(n.people, key)
	if len(n.shared) < n.cfg.Max {
		n.shared[key] = b.at.Add(sharedFor)
	}
	n.f.log.Warn("web filter: an address binds to LDAP for many people, so it is not announced: add it to webfilter.ldap.exclude_addresses (or ldap.lockout_exempt) if it is an application or terminal server",
		"address", key, "people", len(recent), "within", sharedWindow)
	if x := n.byAddr[key]; x != nil {
		e := n.stop(x, b.at, "Admin-Reset")
		delete(n.byAddr, key)
		return &e, true
	}
	return nil, true
}

func (n *announcer) bound(ctx context.Context, b bind) {
	key := b.addr.String()
	n.mu.Lock()
	if stop, shared := n.looksShared(b, key); shared {
		n.mu.Unlock()
		if stop != nil {
			n.f.Enqueue(*stop)
		}
		return
	}
	x := n.byAddr[key]
	if x != nil && x.ev.Username == b.a.Username {
		x.lastBind = b.at
		var ev *Event
		if b.at.Sub(x.interim) >= n.cfg.Lifetime/2 {
			x.interim = b.at
			e := x.ev
			e.Status, e.At = InterimUpdate, b.at
			ev = &e
		}
		n.mu.Unlock()
		if ev != nil {
			n.f.Enqueue(*ev)
		}
		return
	}
	if x == nil && len(n.byAddr) >= n.cfg.Max {
		n.mu.Unlock()
		n.ignored.Add(1)
		return
	}
	n.mu.Unlock()

	e := Event{Status: Start, Source: SourceLDAP, At: b.at, Username: b.a.Username, FramedIP: key, StartedAt: b.at,
		SessionID: "keystage-ldap-" + b.a.Username + "-" + key + "-" + b.at.UTC().Format("20060102T150405.000")}
	if gs, err := n.dir.GroupsOf(ctx, b.a.ID); err == nil {
		for _, g := range gs {
			e.Groups = append(e.Groups, g.Name)
		}
	} else {
		n.f.log.Warn("web filter: reading groups for an LDAP announcement", "user", b.a.Username, "err", err)
	}
	if n.internetSuspended(ctx, b.a, b.at) {
		e.Groups = append(e.Groups, InternetSuspendedGroup)
	}
	if n.cfg.Policy != nil {
		e.FilterID, e.Class = n.cfg.Policy(e.Groups)
	}
	n.mu.Lock()
	var stop *Event
	if old := n.byAddr[key]; old != nil {
		// Someone else signed in at this desktop: the address is theirs now.
		s := n.stop(old, b.at, "User-Request")
		stop = &s
	}
	n.byAddr[key] = &announcement{ev: e, lastBind: b.at, interim: b.at}
	n.mu.Unlock()
	if stop != nil {
		n.f.Enqueue(*stop)
	}
	n.f.Enqueue(e)
}

// stop is the Stop that ends x at t.
func (n *announcer) stop(x *announcement, t time.Time, cause string) Event {
	e := x.ev
	e.Status, e.At, e.TerminateCause = Stop, t, cause
	return e
}

// expire stops the announcements whose last bind is older than Lifetime.
func (n *announcer) expire(now time.Time) {
	n.mu.Lock()
	var stops []Event
	for k, x := range n.byAddr {
		if now.Sub(x.lastBind) >= n.cfg.Lifetime {
			stops = append(stops, n.stop(x, x.lastBind.Add(n.cfg.Lifetime), "Session-Timeout"))
			delete(n.byAddr, k)
		}
	}
	for k, ps := range n.people {
		if now.Sub(ps[len(ps)-1].at) >= sharedWindow {
			delete(n.people, k)
		}
	}
	for k, until := range n.shared {
		if !now.Before(until) {
			delete(n.shared, k)
		}
	}
	n.mu.Unlock()
	for _, e := range stops {
		n.f.Enqueue(e)
	}
}

// at is the live announcement at an address, if any.
func (n *announcer) at(ip string, now time.Time) (Event, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	x := n.byAddr[ip]
	if x == nil || now.Sub(x.lastBind) >= n.cfg.Lifetime {
		return Event{}, false
	}
	return x.ev, true
}
