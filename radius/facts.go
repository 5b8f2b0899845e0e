package radius

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2759"

	"keystage.dev/keystage/directory"
)

// entry is what one authentication needs about an account, loaded in one go
// and reused for FactsTTL: the account, the gate's facts, the groups (for
// the policy) and the opened Wi-Fi credential. A miss costs these store
// reads: the account, its suspensions, signatures, consents, the AUP
// documents, its Wi-Fi credentials, its lock state, its failure count, its
// groups, its approvals, and the Wi-Fi credential again through Secrets:
// eleven round trips (twelve with its devices, when the rules for personal
// devices are on).
// A hit costs none.
type entry struct {
	account  directory.Account
	facts    directory.Facts
	groups   map[string]bool
	password string // empty: no live Wi-Fi credential, or one imported as an NT hash only
	ntHash   []byte // 16 bytes when a Wi-Fi credential is in force
	// ntHashHash is the hash of ntHash, from which MS-CHAP's
	// authenticator response and keys are made.
	ntHashHash []byte
	// ntResp answers MS-CHAP challenges with ntHash, made at the first
	// (see responder).
	ntResp atomic.Pointer[ntResponder]
	// userName is the User-Name of an Access-Accept (nil: too long for
	// one), made once for the entry's requests.
	userName layeh.Attribute
	// approvals are the account's approvals (personal devices, exceptions
	// to the network), and devices those it joined from (read only when
	// the rules for personal devices are on).
	approvals []directory.Approval
	devices   []directory.Device
	loaded    time.Time
}

// responder is the entry's ntResponder (nil without an NT hash), made when
// first asked for: PAP needs none. Two requests at once may both make it;
// either result is the same.
func (e *entry) responder() *ntResponder {
	if r := e.ntResp.Load(); r != nil {
		return r
	}
	r := newNTResponder(e.ntHash)
	if r != nil {
		e.ntResp.Store(r)
	}
	return r
}

// factCache holds entries by username. Directory.AccessEnded and a failed
// authentication drop an entry at once; other changes (a signature, a new
// credential, a change on another node) show within the TTL.
type factCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]*entry
}

func newFactCache(ttl time.Duration) *factCache {
	return &factCache{ttl: ttl, m: make(map[string]*entry)}
}

func (c *factCache) get(username string, now time.Time) *entry {
	if c.ttl < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[username]
	if e == nil || now.Sub(e.loaded) >= c.ttl || now.Before(e.loaded) {
		return nil
	}
	return e
}

func (c *factCache) put(e *entry) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Expired entries go when the map has grown, so memory follows the
	// number of people who used the Wi-Fi within a TTL, not all of them.
	if len(c.m) >= 1024 && len(c.m)%1024 == 0 {
		for k, old := range c.m {
			if e.loaded.Sub(old.loaded) >= c.ttl {
				delete(c.m, k)
			}
		}
	}
	c.m[e.account.Username] = e
}

func (c *factCache) drop(username string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, username)
}

// zeroTime is the start of all time, for Store.Sessions.
var zeroTime time.Time

// errUnknown is an account that does not exist.
var errUnknown = errors.New("no such account")

// load returns the entry for username, from the cache or the store.
func (s *Server) load(ctx context.Context, username string, now time.Time) (*entry, error) {
	if e := s.facts.get(username, now); e != nil {
		return e, nil
	}
	a, err := s.store.AccountByUsername(ctx, username)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, errUnknown
	}
	if err != nil {
		return nil, err
	}
	f, err := s.d.Gate().Facts(ctx, a, directory.ServiceWiFi, now)
	if err != nil {
		return nil, err
	}
	gs, err := s.store.GroupsOf(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("radius: groups of %s: %w", a.Username, err)
	}
	e := &entry{account: a, facts: f, groups: make(map[string]bool, len(gs)), loaded: now}
	e.userName, _ = layeh.NewString(a.Username)
	for _, g := range gs {
		e.groups[g.Name] = true
	}
	if e.approvals, err = s.store.Approvals(ctx, a.ID); err != nil {
		return nil, fmt.Errorf("radius: approvals of %s: %w", a.Username, err)
	}
	if s.d.Controls().Devices.Enabled() {
		if e.devices, err = s.store.Devices(ctx, a.ID); err != nil {
			return nil, fmt.Errorf("radius: devices of %s: %w", a.Username, err)
		}
	}
	live := false
	for _, c := range f.WiFi {
		live = live || c.Live(now)
	}
	if live {
		pw, err := s.secrets.WiFiSecret(ctx, a)
		switch {
		case errors.Is(err, directory.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("radius: Wi-Fi credential of %s: %w", a.Username, err)
		default:
			if nt, ok := directory.WiFiNTHash(pw); ok {
				// Imported from Active Directory: MS-CHAP and PAP
				// need only the hash; CHAP and TTLS-PAP fail.
				e.ntHash = nt
			} else {
				e.password, e.ntHash = pw, ntHash(pw)
			}
			e.ntHashHash = rfc2759.NTPasswordHash(e.ntHash)
		}
	}
	s.facts.put(e)
	return e, nil
}

// Invalidate forgets what is cached about an account, so that its next
// request reads the store.
func (s *Server) Invalidate(username string) { s.facts.drop(username) }

// useLog gathers last-use times in memory and writes them in batches, so
// that an accept costs no store write.
type useLog struct {
	mu sync.Mutex
	m  map[int64]time.Time
}

func newUseLog() *useLog { return &useLog{m: make(map[int64]time.Time)} }

func (u *useLog) note(id int64, t time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if t.After(u.m[id]) {
		u.m[id] = t
	}
}

func (u *useLog) take() map[int64]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	m := u.m
	u.m = make(map[int64]time.Time)
	return m
}

// flushUses writes the gathered last-use times.
func (s *Server) flushUses(ctx context.Context) {
	uses := s.uses.take()
	if err := s.store.NoteUses(ctx, directory.ServiceWiFi, uses); err != nil {
		s.log.Warn("noting Wi-Fi use", "accounts", len(uses), "err", err)
	}
	s.flushDevices(ctx)
	heard := s.heard.take()
	if err := s.store.NoteNASHeard(ctx, heard); err != nil {
		s.log.Warn("noting NAS clients heard from", "clients", len(heard), "err", err)
	}
}

// heardLog gathers when each NAS client was last heard from, written with
// the last-use times (at most once a UseFlush, a minute by default). Only
// configured clients that proved their secret are noted, so it holds at
// most one entry per NAS client.
type heardLog struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func newHeardLog() *heardLog { return &heardLog{m: make(map[string]time.Time)} }

func (h *heardLog) note(name string, t time.Time) {
	h.mu.Lock()
	if t.After(h.m[name]) {
		h.m[name] = t
	}
	h.mu.Unlock()
}

func (h *heardLog) take() map[string]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.m
	h.m = make(map[string]time.Time)
	return m
}

// FlushUses writes the last-use times gathered so far (Serve does it on a
// timer and when it stops).
func (s *Server) FlushUses(ctx context.Context) { s.flushUses(ctx) }
