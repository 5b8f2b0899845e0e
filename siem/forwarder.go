package siem

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Sink delivers messages to one destination. Send is called from one
// goroutine at a time; after an error the forwarder calls Close and, after
// a back-off, Send again with the same message.
type Sink interface {
	Send(ctx context.Context, m Message) error
	Close() error
}

// Back-off between attempts on a failing destination.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = time.Minute
)

// Forwarder queues messages for one Sink and sends them in order from its
// own goroutine (Run). Offer never blocks: when the queue is full the
// oldest message is dropped, counted, and logged (at most once a minute).
type Forwarder struct {
	name string
	sink Sink
	log  *slog.Logger

	mu       sync.Mutex
	q        []Message // ring of cap(q)
	head, n  int
	headID   uint64 // id of q[head]; ids increase by one per message queued
	wake     chan struct{}
	lastWarn time.Time
	dropSeen int64 // drops already told in the log

	sent, dropped, failures atomic.Int64
}

// NewForwarder queues at most size messages (at least 1) for sink; log
// must not feed this forwarder (a failure would then queue its own
// warning).
func NewForwarder(name string, sink Sink, size int, log *slog.Logger) *Forwarder {
	size = max(size, 1)
	return &Forwarder{name: name, sink: sink, log: log.With("siem", name), q: make([]Message, size), wake: make(chan struct{}, 1)}
}

// Offer queues m without waiting.
func (f *Forwarder) Offer(m Message) {
	f.mu.Lock()
	if f.n == len(f.q) {
		f.q[f.head] = Message{}
		f.head = (f.head + 1) % len(f.q)
		f.headID++
		f.n--
		f.dropped.Add(1)
		f.warnDropped()
	}
	f.q[(f.head+f.n)%len(f.q)] = m
	f.n++
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// warnDropped logs drops at most once a minute; f.mu is held.
func (f *Forwarder) warnDropped() {
	now := time.Now()
	if now.Sub(f.lastWarn) < time.Minute {
		return
	}
	d := f.dropped.Load()
	f.log.Warn("siem queue full: dropped the oldest messages; the collector is down or too slow; see keystage_siem_dropped_total",
		"dropped", d-f.dropSeen, "queue", len(f.q))
	f.lastWarn, f.dropSeen = now, d
}

func (f *Forwarder) peek() (Message, uint64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		return Message{}, 0, false
	}
	return f.q[f.head], f.headID, true
}

// done removes the message id when it is still at the head (it may have
// been dropped while it was being sent).
func (f *Forwarder) done(id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 && f.headID == id {
		f.q[f.head] = Message{}
		f.head = (f.head + 1) % len(f.q)
		f.headID++
		f.n--
	}
}

// Stats are a forwarder's counters.
type Stats struct {
	Queued                  int
	Sent, Dropped, Failures int64
}

// Stats reads the counters.
func (f *Forwarder) Stats() Stats {
	f.mu.Lock()
	q := f.n
	f.mu.Unlock()
	return Stats{Queued: q, Sent: f.sent.Load(), Dropped: f.dropped.Load(), Failures: f.failures.Load()}
}

// Run sends until ctx ends, then tries for a few seconds more to send
// what is queued, and closes the sink.
func (f *Forwarder) Run(ctx context.Context) error {
	f.loop(ctx)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	f.Drain(dctx)
	return f.sink.Close()
}

func (f *Forwarder) loop(ctx context.Context) {
	backoff := minBackoff
	for {
		m, id, ok := f.peek()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
				continue
			}
		}
		if err := f.sink.Send(ctx, m); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.failures.Add(1)
			f.sink.Close()
			f.log.Warn("siem destination failing; will retry; messages wait in the queue meanwhile", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
		f.sent.Add(1)
		f.done(id)
	}
}

// Drain sends what is queued, once each, until the queue is empty or ctx
// ends; it reports whether the queue was emptied. It must not run beside
// Run (the command line uses it instead of Run).
func (f *Forwarder) Drain(ctx context.Context) bool {
	for ctx.Err() == nil {
		m, id, ok := f.peek()
		if !ok {
			return true
		}
		if err := f.sink.Send(ctx, m); err != nil {
			f.failures.Add(1)
			f.sink.Close()
			f.log.Warn("siem destination failing", "err", err)
			return false
		}
		f.sent.Add(1)
		f.done(id)
	}
	return false
}
