package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
)

// TestServeSignsCheckpoints runs the checkpointer that keystage serve runs:
// it signs the head on start and once more on the way out, and what it
// signs verifies.
func TestServeSignsCheckpoints(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, dataDir: dir}
	cfg, err := loadConfig("", dir)
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	s, err := e.openStore(false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	note := func(n int) {
		for i := 0; i < n; i++ {
			if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
				return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.note", Target: "test"})
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor := func(seq int64) {
		t.Helper()
		deadline := time.Now().Add(time.Minute) // a guard against hanging, not a measured bound
		for {
			c, err := s.LastCheckpoint(context.Background())
			if err == nil && c.Seq >= seq {
				return
			}
			if err != nil && !errors.Is(err, directory.ErrNotFound) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint of event %d: last %+v %v", seq, c, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	note(3)
	f, err := buildCheckpointer(e, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx) }()
	waitFor(3)
	note(2)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	waitFor(5) // signed on the way out
	// Only its public key is wanted, and e.ctx has ended: no store.
	signer, err := e.signer(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := directory.VerifyTrail(context.Background(), s, audit.NewKeys(signer.Public()))
	if err != nil || rep.CoveredSeq != 5 || rep.Checkpoints != 2 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}
