package eap

import (
	"container/list"
	"crypto/rand"
	"sync"
	"time"
)

// store holds the conversations in flight: at most max of them, each for at
// most the conversation TTL from its first packet. Entries are kept in the
// order they were created, which is also the order they expire in, so that
// sweeping costs only the expired entries.
type store struct {
	mu     sync.Mutex
	max    int
	byKey  map[string]*list.Element
	order  *list.List // of *conversation, oldest first
	closed bool
}

func (st *store) init(max int) {
	st.max = max
	st.byKey = make(map[string]*list.Element)
	st.order = list.New()
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
		st.order.Remove(e)
		delete(st.byKey, c.key)
		dead = append(dead, c)
	}
	return dead
}

// add stores a new conversation. It returns false when the store is full of
// live conversations or closed.
func (st *store) add(c *conversation, now time.Time) bool {
	st.mu.Lock()
	dead := st.sweepLocked(now)
	ok := !st.closed && st.order.Len() < st.max
	if ok {
		var k [16]byte
		rand.Read(k[:])
		c.key = string(k[:])
		st.byKey[c.key] = st.order.PushBack(c)
	}
	st.mu.Unlock()
	kill(dead)
	return ok
}

// get finds a live conversation by its State.
func (st *store) get(key []byte, now time.Time) *conversation {
	st.mu.Lock()
	dead := st.sweepLocked(now)
	var c *conversation
	if e, ok := st.byKey[string(key)]; ok {
		c = e.Value.(*conversation)
	}
	st.mu.Unlock()
	kill(dead)
	return c
}

// remove forgets c and closes its tunnel.
func (st *store) remove(c *conversation) {
	st.mu.Lock()
	if e, ok := st.byKey[c.key]; ok && e.Value == c {
		st.order.Remove(e)
		delete(st.byKey, c.key)
	}
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
		dead = append(dead, e.Value.(*conversation))
	}
	st.order.Init()
	clear(st.byKey)
	st.mu.Unlock()
	kill(dead)
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
