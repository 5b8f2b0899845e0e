package radius

import (
	"net/netip"
	"testing"
	"time"
)

var (
	keyA = replyKey{src: netip.MustParseAddrPort("192.0.2.1:1812"), id: 1}
	keyB = replyKey{src: netip.MustParseAddrPort("192.0.2.1:1812"), id: 2}
	keyC = replyKey{src: netip.MustParseAddrPort("192.0.2.2:1812"), id: 1}
)

func TestReplyCacheMakesRoomFromTheOldestAnswered(t *testing.T) {
	c := newReplyCache(time.Minute, 2)
	now := time.Now()
	if st, _ := c.begin(keyA, now); st != cacheNew {
		t.Fatal(st)
	}
	if st, _ := c.begin(keyB, now); st != cacheNew {
		t.Fatal(st)
	}
	// Both in flight: no room.
	if st, _ := c.begin(keyC, now); st != cacheFull {
		t.Fatalf("full of requests in flight: %d", st)
	}
	c.finish(keyA, []byte("A"))
	if st, _ := c.begin(keyC, now); st != cacheNew {
		t.Fatalf("after a is answered: %d", st)
	}
	if st, _ := c.begin(keyA, now); st != cacheFull {
		t.Fatalf("a forgotten, b and c in flight: %d", st)
	}
	if st, _ := c.begin(keyB, now); st != cacheBusy {
		t.Fatalf("b: %d", st)
	}
	c.finish(keyB, []byte("B"))
	if st, r := c.begin(keyB, now); st != cacheAnswered || string(r) != "B" {
		t.Fatalf("b answered: %d %q", st, r)
	}
	// Past the TTL everything goes.
	if st, _ := c.begin(keyB, now.Add(2*time.Minute)); st != cacheNew || c.len() != 1 {
		t.Fatalf("after the TTL: %d, %d entries", st, c.len())
	}
}
