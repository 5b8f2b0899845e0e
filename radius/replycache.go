package radius

import (
	"net/netip"
	"sync"
	"time"
)

// replyCache remembers the answer to each request for a while, keyed by
// source, Identifier and Request Authenticator, so that a retransmission is
// answered with the same bytes and never authenticated twice (with EAP, a
// second pass would advance the conversation).
type replyCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	max     int
	entries map[replyKey]cached
	order   []replyKey // insertion order, for expiry
}

// replyKey names a request by source, Identifier and Request
// Authenticator (RFC 5080 2.2.2). It is a value, so that looking a
// request up allocates nothing.
type replyKey struct {
	src  netip.AddrPort
	id   byte
	auth [16]byte
}

type cached struct {
	done    bool
	reply   []byte
	expires time.Time
}

func newReplyCache(ttl time.Duration, max int) *replyCache {
	return &replyCache{ttl: ttl, max: max, entries: make(map[replyKey]cached)}
}

// outcome of begin.
const (
	cacheNew      = iota // first copy: answer it, then finish
	cacheAnswered        // a retransmission: reply holds the answer
	cacheBusy            // a retransmission while the first copy is answered
	cacheFull            // no room: drop
)

// begin looks a request up and, when it is new, marks it in flight.
func (c *replyCache) begin(key replyKey, now time.Time) (int, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if e, ok := c.entries[key]; ok {
		if !e.done {
			return cacheBusy, nil
		}
		return cacheAnswered, e.reply
	}
	// When full, the oldest answered entries make room: under a load that
	// outruns the TTL, a late retransmission of them is authenticated
	// again, which beats refusing new requests. Only a cache full of
	// requests still being answered refuses.
	for len(c.entries) >= c.max && len(c.order) > 0 {
		old, ok := c.entries[c.order[0]]
		if ok && !old.done {
			break
		}
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	if len(c.entries) >= c.max {
		return cacheFull, nil
	}
	c.entries[key] = cached{expires: now.Add(c.ttl)}
	c.order = append(c.order, key)
	return cacheNew, nil
}

// finish stores the answer (nil: the request was dropped, and a
// retransmission may try again).
func (c *replyCache) finish(key replyKey, reply []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return
	}
	if reply == nil {
		delete(c.entries, key)
		return
	}
	e.done, e.reply = true, reply
	c.entries[key] = e
}

// expire drops entries past their time; entries are in insertion order and
// share one TTL, so it stops at the first live one.
func (c *replyCache) expire(now time.Time) {
	i := 0
	for ; i < len(c.order); i++ {
		e, ok := c.entries[c.order[i]]
		if ok && now.Before(e.expires) {
			break
		}
		if ok {
			delete(c.entries, c.order[i])
		}
	}
	// Re-sliced, not moved down: moving the whole queue for each request
	// that expires one entry costs time in proportion to the cache. The
	// next append that finds no room copies only the live entries.
	c.order = c.order[i:]
}

func (c *replyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
