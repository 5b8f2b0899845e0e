package eap

import (
	"container/list"
	"crypto/rand"
	"sync"
	"time"
)

// Origin is where a conversation comes from: the NAS that relays it and the
// device (Calling-Station-Id) behind it. Either may be empty when the NAS
// does not say.
type Origin struct {
	NAS     string
	Station string
}

// store holds the conversations in flight, each for at most the
// conversation TTL from its first stored packet, within three bounds: max
// in all, perNAS through one NAS, and perStation from one device of one
// NAS.
//
// Only peers that have answered the server once are stored (the first
// round trip is carried by a cookie in State; see cookie.go), so a flood of
// EAP-Identity packets stores nothing. Beyond that, when a bound is reached
// the store makes room rather than refusing, at the cost of whoever is over
// it:
//   - a device at its bound loses its own oldest conversation (a phone that
//     starts again does not need the attempt it gave up on);
//   - a NAS at its bound loses its own oldest;
//   - a full store takes the oldest conversation of the NAS holding the most.
//
// So one device or one NAS (a compromised access point, or a pupil's laptop
// inventing Calling-Station-Ids behind one) can only deny itself.
//
// Entries are kept in the order they were stored, which is also the order
// they expire in, so that sweeping costs only the expired entries.
type store struct {
	mu         sync.Mutex
	max        int
	perNAS     int
	perStation int
	byKey      map[string]*conversation // by State, and by the cookie that began it
	order      *list.List               // of *conversation, oldest first
	nases      map[string]*nasShare
	closed     bool
	evicted    uint64
}

// nasShare is what one NAS holds.
type nasShare struct {
	order    *list.List // of *conversation, oldest first
	stations map[string][]*conversation
}

// slot is a conversation's place in the store; only the store's lock guards
// it.
type slot struct {
	from    Origin
	cookie  string        // the State that began it, so that a retransmission finds it
	elem    *list.Element // in store.order
	nasElem *list.Element // in nasShare.order
	removed bool
}

func (st *store) init(max, perNAS, perStation int) {
	st.max, st.perNAS, st.perStation = max, perNAS, perStation
	st.byKey = make(map[string]*conversation)
	st.order = list.New()
	st.nases = make(map[string]*nasShare)
}

// sweepLocked unlinks the expired conversations and returns them for closing
// once the lock is released.
func (st *store) sweepLocked(now time.Time) []*conversation {
	var dead []*conversation
	for e := st.order.Front(); e != nil; e = st.order.Front() {
		c := e.Value.(*conversation)
		if now.Before(c.expires) {
			break
		}
		st.unlinkLocked(c)
		dead = append(dead, c)
	}
	return dead
}

// unlinkLocked forgets c everywhere.
func (st *store) unlinkLocked(c *conversation) {
	sl := &c.slot
	if sl.removed {
		return
	}
	sl.removed = true
	st.order.Remove(sl.elem)
	delete(st.byKey, c.key)
	if sl.cookie != "" && st.byKey[sl.cookie] == c {
		delete(st.byKey, sl.cookie)
	}
	ns := st.nases[sl.from.NAS]
	ns.order.Remove(sl.nasElem)
	if sl.from.Station != "" {
		cs := ns.stations[sl.from.Station]
		for i, x := range cs {
			if x == c {
				cs = append(cs[:i], cs[i+1:]...)
				break
			}
		}
		if len(cs) == 0 {
			delete(ns.stations, sl.from.Station)
		} else {
			ns.stations[sl.from.Station] = cs
		}
	}
	if ns.order.Len() == 0 {
		delete(st.nases, sl.from.NAS)
	}
}

// add stores a conversation that c.slot.from and c.slot.cookie describe,
// making room as the type's comment says. It returns false only when the
// store is closed.
func (st *store) add(c *conversation, now time.Time) bool {
	st.mu.Lock()
	dead := st.sweepLocked(now)
	ok := st.addLocked(c, &dead)
	st.mu.Unlock()
	kill(dead)
	return ok
}

func (st *store) addLocked(c *conversation, dead *[]*conversation) bool {
	if st.closed {
		return false
	}
	from := c.slot.from
	if ns := st.nases[from.NAS]; ns != nil {
		if cs := ns.stations[from.Station]; from.Station != "" && len(cs) >= st.perStation {
			st.evictLocked(cs[0], dead)
		} else if ns.order.Len() >= st.perNAS {
			st.evictLocked(ns.order.Front().Value.(*conversation), dead)
		}
	}
	if st.order.Len() >= st.max {
		var most *nasShare
		for _, ns := range st.nases {
			if most == nil || ns.order.Len() > most.order.Len() {
				most = ns
			}
		}
		st.evictLocked(most.order.Front().Value.(*conversation), dead)
	}
	ns := st.nases[from.NAS]
	if ns == nil {
		ns = &nasShare{order: list.New(), stations: make(map[string][]*conversation)}
		st.nases[from.NAS] = ns
	}
	var k [16]byte
	rand.Read(k[:])
	c.key = string(k[:])
	st.byKey[c.key] = c
	if c.slot.cookie != "" {
		st.byKey[c.slot.cookie] = c
	}
	c.slot.elem = st.order.PushBack(c)
	c.slot.nasElem = ns.order.PushBack(c)
	if from.Station != "" {
		ns.stations[from.Station] = append(ns.stations[from.Station], c)
	}
	return true
}

func (st *store) evictLocked(c *conversation, dead *[]*conversation) {
	st.unlinkLocked(c)
	st.evicted++
	*dead = append(*dead, c)
}

// get finds a live conversation by its State.
func (st *store) get(key []byte, now time.Time) *conversation {
	st.mu.Lock()
	dead := st.sweepLocked(now)
	c := st.byKey[string(key)]
	st.mu.Unlock()
	kill(dead)
	return c
}

// remove forgets c and closes its tunnel.
func (st *store) remove(c *conversation) {
	st.mu.Lock()
	st.unlinkLocked(c)
	st.mu.Unlock()
	kill([]*conversation{c})
}

// sweep drops expired conversations.
func (st *store) sweep(now time.Time) {
	st.mu.Lock()
	dead := st.sweepLocked(now)
	st.mu.Unlock()
	kill(dead)
}

// close drops every conversation and refuses new ones.
func (st *store) close() {
	st.mu.Lock()
	st.closed = true
	var dead []*conversation
	for e := st.order.Front(); e != nil; e = e.Next() {
		c := e.Value.(*conversation)
		c.slot.removed = true
		dead = append(dead, c)
	}
	st.order.Init()
	clear(st.byKey)
	clear(st.nases)
	st.mu.Unlock()
	kill(dead)
}

// stats reports the conversations in flight, how many one NAS holds, and
// how many were ended early to make room since the start.
func (st *store) stats(nas string) (total, fromNAS int, evicted uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if ns := st.nases[nas]; ns != nil {
		fromNAS = ns.order.Len()
	}
	return st.order.Len(), fromNAS, st.evicted
}

func (st *store) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.order.Len()
}

// kill marks conversations dead and ends their tunnels. It runs without the
// store lock: closing a tunnel waits for its handshake goroutine.
func kill(cs []*conversation) {
	for _, c := range cs {
		c.dead.Store(true)
		if t := c.tun.Load(); t != nil {
			t.Close()
		}
	}
}
