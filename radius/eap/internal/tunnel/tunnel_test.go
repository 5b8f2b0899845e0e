package tunnel

import (
	"context"
	"crypto/tls"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestCloseEndsHandshake: a tunnel left waiting for the peer ends its
// goroutine on Close, and one whose deadline passes ends it by itself.
func TestCloseEndsHandshake(t *testing.T) {
	base := runtime.NumGoroutine()
	ctx := context.Background()
	cfg := &tls.Config{InsecureSkipVerify: true}
	c, hello, err := Client(ctx, cfg, time.Minute)
	if err != nil || len(hello) == 0 {
		t.Fatal(err)
	}
	if runtime.NumGoroutine() <= base {
		t.Fatal("no handshake goroutine")
	}
	c.Close()
	c.Close()
	if _, _, err := c.Step(ctx, []byte{22, 3, 3, 0, 1, 0}); err == nil {
		t.Fatal("step after close")
	}

	c, _, err = Client(ctx, cfg, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	select {
	case <-c.exited:
	case <-deadline:
		t.Fatal("handshake goroutine outlived its deadline")
	}
	if _, _, err := c.Step(ctx, []byte{1}); err == nil {
		t.Fatal("step after deadline")
	}
}

// TestStepContext: a cancelled request context ends the tunnel.
func TestStepContext(t *testing.T) {
	c, _, err := Client(context.Background(), &tls.Config{InsecureSkipVerify: true}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Step(ctx, []byte{22, 3, 3}); err == nil {
		t.Fatal("step with a cancelled context")
	}
	c.Close()
	if _, err := c.ReadApp(nil); err == nil {
		t.Fatal("read before handshake")
	}
}
