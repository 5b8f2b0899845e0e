package radius

import (
	"testing"
	"time"
)

func TestReplyCacheMakesRoomFromTheOldestAnswered(t *testing.T) {
	c := newReplyCache(time.Minute, 2)
	now := time.Now()
	if st, _ := c.begin("a", now); st != cacheNew {
		t.Fatal(st)
	}
	if st, _ := c.begin("b", now); st != cacheNew {
		t.Fatal(st)
	}
	// Both in flight: no room.
	if st, _ := c.begin("c", now); st != cacheFull {
		t.Fatalf("full of requests in flight: %d", st)
	}
	c.finish("a", []byte("A"))
	if st, _ := c.begin("c", now); st != cacheNew {
		t.Fatalf("after a is answered: %d", st)
	}
	if st, _ := c.begin("a", now); st != cacheFull {
		t.Fatalf("a forgotten, b and c in flight: %d", st)
	}
	if st, _ := c.begin("b", now); st != cacheBusy {
		t.Fatalf("b: %d", st)
	}
	c.finish("b", []byte("B"))
	if st, r := c.begin("b", now); st != cacheAnswered || string(r) != "B" {
		t.Fatalf("b answered: %d %q", st, r)
	}
	// Past the TTL everything goes.
	if st, _ := c.begin("b", now.Add(2*time.Minute)); st != cacheNew || c.len() != 1 {
		t.Fatalf("after the TTL: %d, %d entries", st, c.len())
	}
}
