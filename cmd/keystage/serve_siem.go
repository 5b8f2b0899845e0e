package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/server"
	"keystage.dev/keystage/siem"
)

// siemFeed holds the destinations that [siem] and [audit.witness]
// configure: the SIEM's get every audit event, every checkpoint and the
// log's warnings; the witness's get every checkpoint.
type siemFeed struct {
	host    string
	events  []*siem.Forwarder
	witness []*siem.Forwarder
	names   map[*siem.Forwarder]string
	queue   int
}

// siemFeed makes the destinations once (nil: none is configured). Their
// own failures are logged to the log as it was before any tee, so that a
// failing collector does not queue its own warnings.
func (e *env) siemFeed() (*siemFeed, error) {
	if e.siem != nil {
		return e.siem, nil
	}
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	f := &siemFeed{host: host, names: map[*siem.Forwarder]string{}, queue: cfg.SIEM.Queue}
	log := e.logger()
	add := func(list *[]*siem.Forwarder, name string, sink siem.Sink) {
		fw := siem.NewForwarder(name, sink, cfg.SIEM.Queue, log)
		*list = append(*list, fw)
		f.names[fw] = name
	}
	if cfg.SIEM.Address != "" {
		sink, err := cfg.SIEM.sink()
		if err != nil {
			return nil, err
		}
		add(&f.events, "syslog "+cfg.SIEM.Address, sink)
	}
	if cfg.SIEM.File != "" {
		add(&f.events, "file "+cfg.SIEM.File, &siem.File{Path: cfg.SIEM.File, MaxBytes: int64(cfg.SIEM.FileMaxMB) << 20})
	}
	sinks, err := cfg.Audit.Witness.sinks()
	if err != nil {
		return nil, err
	}
	if h, _, err := net.SplitHostPort(cfg.Audit.Witness.Address); err == nil && isLoopbackHost(h) {
		log.Warn("audit.witness.address is on this host: a witness is one the server cannot rewrite, on another host; use this only for a test",
			"address", cfg.Audit.Witness.Address)
	}
	names := make([]string, 0, len(sinks))
	for n := range sinks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add(&f.witness, n, sinks[n])
	}
	if len(f.events) == 0 && len(f.witness) == 0 {
		return nil, nil
	}
	e.siem = f
	return f, nil
}

// teeLog sends the log's lines at siem.log_level or above to the SIEM's
// destinations as well; called before anything takes the logger.
func (e *env) teeLog(cfg *Config) error {
	f, err := e.siemFeed()
	if err != nil || f == nil || len(f.events) == 0 || cfg.SIEM.LogLevel == "off" {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.SIEM.LogLevel)); err != nil {
		return fmt.Errorf("siem.log_level: %w", err)
	}
	e.log = slog.New(siem.NewLogTee(e.logger().Handler(), func(m siem.Message) {
		for _, fw := range f.events {
			fw.Offer(m)
		}
	}, level, f.host))
	return nil
}

// sendCheckpoint hands c to the witness's destinations, for the commands
// that sign one (keystage serve's follower sends it as well, and to the
// SIEM; a witness keeps duplicates once), and waits up to 15s for them to
// take it. It reports the destinations that did not. The SIEM's file is
// left to serve, so that a command run as another user never creates it.
func (f *siemFeed) sendCheckpoint(ctx context.Context, c audit.Checkpoint) (sent, failed []string) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for _, fw := range f.witness {
		fw.Offer(siem.CheckpointMessage(c))
		if fw.Drain(ctx) {
			sent = append(sent, f.names[fw])
		} else {
			failed = append(failed, f.names[fw])
		}
	}
	return sent, failed
}

// feedPosition is where the follower got to, kept in the data directory
// so that a restart goes on from there.
type feedPosition struct {
	Events      int64 `json:"events"`
	Checkpoints int64 `json:"checkpoints"`
}

// buildSIEMFeed follows the audit trail and its checkpoints and offers
// them to the destinations (nil: none is configured).
func buildSIEMFeed(e *env, s directory.Store, cfg *Config) (*server.Frontend, error) {
	f, err := e.siemFeed()
	if err != nil || f == nil {
		return nil, err
	}
	fl := &trailFollower{s: s, feed: f, log: e.logger().With("job", "siem"), posFile: filepath.Join(cfg.DataDir, "siem-position.json")}
	return &server.Frontend{
		Name:    "siem feed",
		Metrics: f.register,
		Serve: func(ctx context.Context) error {
			var wg sync.WaitGroup
			fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			for fw := range f.names {
				wg.Add(1)
				go func() { defer wg.Done(); fw.Run(fctx) }()
			}
			err := fl.run(ctx)
			cancel() // the forwarders drain what the follower offered last
			wg.Wait()
			return err
		},
	}, nil
}

func (f *siemFeed) register(reg prometheus.Registerer) error {
	for fw, name := range f.names {
		labels := prometheus.Labels{"destination": name}
		for _, c := range []prometheus.Collector{
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "keystage_siem_sent_total", Help: "Messages delivered to a SIEM or witness destination.", ConstLabels: labels},
				func() float64 { return float64(fw.Stats().Sent) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "keystage_siem_dropped_total", Help: "Messages dropped, oldest first, because a destination's queue was full.", ConstLabels: labels},
				func() float64 { return float64(fw.Stats().Dropped) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "keystage_siem_failures_total", Help: "Failed attempts to deliver to a destination.", ConstLabels: labels},
				func() float64 { return float64(fw.Stats().Failures) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "keystage_siem_queued", Help: "Messages waiting for a destination.", ConstLabels: labels},
				func() float64 { return float64(fw.Stats().Queued) }),
		} {
			if err := reg.Register(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// trailPoll is how often the follower looks for new events and
// checkpoints when no change is told (another node's, or a store that
// does not tell).
const trailPoll = 2 * time.Second

// positionEvery bounds how often the follower's place is written.
const positionEvery = 5 * time.Second

type trailFollower struct {
	s       directory.Store
	feed    *siemFeed
	log     *slog.Logger
	posFile string
}

// start is where to go on from: the saved position, or for a first start
// the head of the trail and the last checkpoint (sent again, so that the
// witness holds one at once: it pins every event before it).
func (t *trailFollower) start(ctx context.Context) (feedPosition, error) {
	head, _, err := t.s.AuditHead(ctx)
	if err != nil {
		return feedPosition{}, err
	}
	var pos feedPosition
	b, err := os.ReadFile(t.posFile)
	if err == nil && json.Unmarshal(b, &pos) == nil {
		if pos.Events > head {
			pos.Events = head // the trail was restored from a backup
		}
	} else {
		pos.Events = head
		if last, err := t.s.LastCheckpoint(ctx); err == nil {
			pos.Checkpoints = last.Seq - 1
		} else if !errors.Is(err, directory.ErrNotFound) {
			return feedPosition{}, err
		}
	}
	if behind := head - pos.Events; behind > int64(t.feed.queue) {
		t.log.Warn("the SIEM feed was stopped while many events were recorded: sending only the newest; export the rest with keystage audit export",
			"skipped_from", pos.Events+1, "skipped_to", head-int64(t.feed.queue))
		pos.Events = head - int64(t.feed.queue)
	}
	return pos, nil
}

func (t *trailFollower) save(pos feedPosition) {
	b, _ := json.Marshal(pos)
	if err := writeFileAtomic(t.posFile, b, 0o600); err != nil {
		t.log.Warn("saving the SIEM feed's position failed: a restart will start from the head of the trail", "err", err)
	}
}

func (t *trailFollower) run(ctx context.Context) error {
	var (
		pos feedPosition
		err error
	)
	for {
		if pos, err = t.start(ctx); err == nil {
			break
		}
		t.log.Warn("reading the head of the audit trail failed; will retry", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Second):
		}
	}
	wake := make(chan struct{}, 1)
	if w, ok := t.s.(directory.Watcher); ok {
		if err := w.Watch(ctx, func([]string) {
			select {
			case wake <- struct{}{}:
			default:
			}
		}); err != nil {
			t.log.Warn("cannot watch the store for changes; polling", "err", err)
		}
	}
	tick := time.NewTicker(trailPoll)
	defer tick.Stop()
	// Saved at once, so that what is recorded from now on is sent even if
	// this process stops before it sends anything.
	t.save(pos)
	saved, savedAt := pos, time.Now()
	for {
		pos = t.pump(ctx, pos)
		// At most every few seconds under a burst (a sync's apply), and
		// on the way out.
		if pos != saved && time.Since(savedAt) >= positionEvery {
			t.save(pos)
			saved, savedAt = pos, time.Now()
		}
		select {
		case <-ctx.Done():
			if pos != saved {
				t.save(pos)
			}
			return nil
		case <-wake:
		case <-tick.C:
		}
	}
}

// pump offers what was appended since pos and returns the new position.
func (t *trailFollower) pump(ctx context.Context, pos feedPosition) feedPosition {
	if len(t.feed.events) > 0 {
		for {
			evs, err := t.s.AuditEvents(ctx, pos.Events, 500)
			if err != nil {
				if ctx.Err() == nil {
					t.log.Warn("reading the audit trail for the SIEM failed; will retry", "err", err)
				}
				break
			}
			for _, ev := range evs {
				m := siem.EventMessage(ev, t.feed.host)
				for _, fw := range t.feed.events {
					fw.Offer(m)
				}
				pos.Events = ev.Seq
			}
			if len(evs) < 500 {
				break
			}
		}
	}
	for {
		cps, err := t.s.Checkpoints(ctx, pos.Checkpoints, 500)
		if err != nil {
			if ctx.Err() == nil {
				t.log.Warn("reading the audit checkpoints for the witness failed; will retry", "err", err)
			}
			break
		}
		for _, c := range cps {
			m := siem.CheckpointMessage(c)
			for _, fw := range append(t.feed.witness[:len(t.feed.witness):len(t.feed.witness)], t.feed.events...) {
				fw.Offer(m)
			}
			pos.Checkpoints = c.Seq
		}
		if len(cps) < 500 {
			break
		}
	}
	return pos
}
