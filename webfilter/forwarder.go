package webfilter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	layeh "layeh.com/radius"
)

// Config is the web filter's configuration, decoded by the command from
// the [webfilter] section.
type Config struct {
	// Receivers are the filters' accounting listeners.
	Receivers []Receiver
	// QueueDir holds one queue file per receiver (made 0700; files 0600).
	QueueDir string
	// Announce is the LDAP-bind announcement (off unless Enabled).
	Announce Announce
	// Log and Now; nil: discard and time.Now.
	Log *slog.Logger
	Now func() time.Time
}

// Forwarder tells the receivers of accounting events. Make it with New,
// hand it events with Enqueue (which only appends to the queues), and Run
// it to send them.
type Forwarder struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	senders []*sender
	ann     *announcer
}

// sender is one receiver and its queue.
type sender struct {
	r        Receiver
	q        *queue
	sent     atomic.Uint64
	failures atomic.Uint64
	up       atomic.Bool // the last attempt was answered
}

// New opens the receivers' queues. An unreadable tail of a queue (a record
// that fails its checksum) is logged and cut off; it does not stop Keystage.
func New(cfg Config, dir Directory) (*Forwarder, error) {
	f := &Forwarder{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	f.log = f.log.With("part", "webfilter")
	if f.now == nil {
		f.now = time.Now
	}
	if len(cfg.Receivers) > 0 {
		if err := os.MkdirAll(cfg.QueueDir, 0o700); err != nil {
			return nil, fmt.Errorf("web filter queues: %w", err)
		}
	}
	for _, r := range cfg.Receivers {
		r = r.withDefaults()
		if p := r.Validate(); len(p) > 0 {
			f.Close()
			return nil, fmt.Errorf("web filter: %s", p[0])
		}
		q, err := openQueue(filepath.Join(cfg.QueueDir, r.Name+".queue"), r.MaxBytes, r.MaxRecords)
		if q == nil {
			f.Close()
			return nil, err
		}
		if err != nil {
			f.log.Error("web filter queue damaged: events after the damage were lost", "receiver", r.Name, "err", err)
		}
		f.senders = append(f.senders, &sender{r: r, q: q})
	}
	f.ann = newAnnouncer(f, cfg.Announce, dir)
	return f, nil
}

// Close closes the queues (after Run has returned).
func (f *Forwarder) Close() error {
	var err error
	for _, s := range f.senders {
		if e := s.q.close(); err == nil {
			err = e
		}
	}
	return err
}

// Enqueue appends e to every receiver's queue. It does not wait for any
// receiver; a full queue drops its oldest events to make room, with a log
// line and a count (ReceiverStats.Dropped).
func (f *Forwarder) Enqueue(e Event) {
	if len(f.senders) == 0 {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		f.log.Error("web filter: encoding an event", "err", err)
		return
	}
	restart := e.Status == AccountingOn || e.Status == AccountingOff
	for _, s := range f.senders {
		if restart && s.r.DropNASRestarts {
			continue
		}
		n, err := s.q.Append(b)
		if n > 0 {
			f.log.Warn("web filter queue full: dropped the oldest events; the filter has been unreachable for long, or raise max_bytes / max_records",
				"receiver", s.r.Name, "dropped", n)
		}
		if err != nil {
			f.log.Error("web filter: queueing an event", "receiver", s.r.Name, "err", err)
		}
	}
}

// Run sends the queued events to each receiver until ctx ends, and expires
// LDAP announcements.
func (f *Forwarder) Run(ctx context.Context) error {
	done := make(chan struct{})
	for _, s := range f.senders {
		go func() {
			defer func() { done <- struct{}{} }()
			s.run(ctx, f)
		}()
	}
	f.ann.run(ctx)
	for range f.senders {
		<-done
	}
	return nil
}

// run sends one receiver's events in order, one at a time: a filter
// applies a Start and its Stop in the order it hears them.
func (s *sender) run(ctx context.Context, f *Forwarder) {
	backoff := s.r.Backoff
	for ctx.Err() == nil {
		payload, t, ok, err := s.q.Peek()
		if err != nil {
			// Opening checked every record, so this is the disk failing:
			// what is left of the queue cannot be trusted.
			n, rerr := s.q.discard()
			f.log.Error("web filter queue unreadable: the events in it were lost", "receiver", s.r.Name, "lost", n, "err", errors.Join(err, rerr))
			sleep(ctx, backoff)
			continue
		}
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.q.ready:
			}
			continue
		}
		e, err := decodeEvent(payload)
		if err != nil {
			f.log.Error("web filter: an unreadable event is skipped", "receiver", s.r.Name, "err", err)
			s.q.Ack(t)
			continue
		}
		if err := s.send(ctx, e, f.now()); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.failures.Add(1)
			if s.up.Swap(false) || s.failures.Load() == 1 {
				f.log.Warn("web filter receiver not answering: events are kept on disk and sent when it answers",
					"receiver", s.r.Name, "address", s.r.Address, "queued", s.q.Len(), "err", err)
			}
			sleep(ctx, backoff)
			backoff = min(backoff*2, s.r.MaxBackoff)
			continue
		}
		if !s.up.Swap(true) && s.failures.Load() > 0 {
			f.log.Info("web filter receiver answering again", "receiver", s.r.Name, "queued", s.q.Len())
		}
		backoff = s.r.Backoff
		s.sent.Add(1)
		if err := s.q.Ack(t); err != nil {
			f.log.Error("web filter: removing a sent event from the queue", "receiver", s.r.Name, "err", err)
		}
	}
}

var errNotAnswered = errors.New("no Accounting-Response")

// send delivers one event and waits for its Accounting-Response, sending
// the same request up to three times.
func (s *sender) send(ctx context.Context, e Event, now time.Time) error {
	p := s.r.packet(e, now)
	ctx, cancel := context.WithTimeout(ctx, 3*s.r.Timeout)
	defer cancel()
	c := layeh.Client{Retry: s.r.Timeout, MaxPacketErrors: 10}
	resp, err := c.Exchange(ctx, p, s.r.Address)
	if err != nil {
		return fmt.Errorf("%w from %s: %v", errNotAnswered, s.r.Address, err)
	}
	if resp.Code != layeh.CodeAccountingResponse {
		return fmt.Errorf("%w from %s: got %v", errNotAnswered, s.r.Address, resp.Code)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// ReceiverStats are one receiver's figures, for metrics.
type ReceiverStats struct {
	Name     string
	Queued   int    // events waiting on disk
	Sent     uint64 // events the receiver acknowledged
	Dropped  uint64 // events dropped from a full queue
	Failures uint64 // sends that got no answer
	Up       bool   // the last send was answered
}

// Stats gives each receiver's figures.
func (f *Forwarder) Stats() []ReceiverStats {
	out := make([]ReceiverStats, len(f.senders))
	for i, s := range f.senders {
		out[i] = ReceiverStats{Name: s.r.Name, Queued: s.q.Len(), Sent: s.sent.Load(), Dropped: s.q.Dropped(),
			Failures: s.failures.Load(), Up: s.up.Load()}
	}
	return out
}
