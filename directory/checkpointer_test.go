package directory_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// TestCheckpointerSignsOnceEveryEventsAreUnsigned: with an interval that
// never comes, the checkpointer signs at start, again as soon as Every
// events are unsigned, and once more on the way out; what it signs
// verifies.
func TestCheckpointerSignsOnceEveryEventsAreUnsigned(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	note := func(n int) {
		t.Helper()
		for range n {
			if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
				return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.note", Target: "test"})
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	signed := func() int64 {
		c, err := f.s.LastCheckpoint(context.Background())
		if errors.Is(err, directory.ErrNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return c.Seq
	}
	waitFor := func(seq int64) {
		t.Helper()
		deadline := time.Now().Add(time.Minute) // a guard against hanging, not a measured bound
		for signed() < seq {
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint of event %d: last %d", seq, signed())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer := audit.NewSigner(key)
	c := &directory.Checkpointer{Store: f.s, Signer: signer, Interval: time.Hour, Every: 3,
		Poll: 5 * time.Millisecond, Now: func() time.Time { return f.now }, Log: slog.New(slog.DiscardHandler)}
	note(1)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitFor(1) // at start
	note(2)
	time.Sleep(50 * time.Millisecond) // ten polls: two unsigned events are not yet due
	if got := signed(); got != 1 {
		t.Fatalf("signed event %d with only 2 unsigned, want 1", got)
	}
	note(1)
	waitFor(4) // three unsigned: due
	note(1)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := signed(); got != 5 {
		t.Fatalf("on the way out signed event %d, want 5", got)
	}
	rep, err := directory.VerifyTrail(context.Background(), f.s, audit.NewKeys(signer.Public()))
	if err != nil || rep.CoveredSeq != 5 || rep.Checkpoints != 3 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}
