package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/private"
	"keystage.dev/keystage/siem"
)

// SIEMFeed holds the destinations that [siem] and [audit.witness]
// configure: the SIEM's get every audit event, every checkpoint and the
// log's warnings; the witness's get every checkpoint.
type SIEMFeed struct {
	// Host names this node in the events sent.
	Host    string
	Events  []*siem.Forwarder
	Witness []*siem.Forwarder
	// Names names each destination in the metrics and messages.
	Names map[*siem.Forwarder]string
	// Queue is each destination's queue: the follower sends at most this
	// many events recorded while it was stopped.
	Queue int
}

// SendCheckpoint hands c to the witness's destinations, for the commands
// that sign one (keystage serve's follower sends it as well, and to the
// SIEM; a witness keeps duplicates once), and waits up to 15s for them to
// take it. It reports the destinations that did not. The SIEM's file is
// left to serve, so that a command run as another user never creates it.
func (f *SIEMFeed) SendCheckpoint(ctx context.Context, c audit.Checkpoint) (sent, failed []string) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for _, fw := range f.Witness {
		fw.Offer(siem.CheckpointMessage(c))
		if fw.Drain(ctx) {
			sent = append(sent, f.Names[fw])
		} else {
			failed = append(failed, f.Names[fw])
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

// SIEM follows the audit trail in s and its checkpoints and offers them to
// f's destinations, keeping its place in posFile so that a restart goes on
// from there.
func SIEM(s directory.Store, f *SIEMFeed, log *slog.Logger, posFile string) *Frontend {
	fl := &trailFollower{s: s, feed: f, log: log, posFile: posFile}
	return &Frontend{
		Name:    "siem feed",
		Metrics: f.register,
		Serve: func(ctx context.Context) error {
			var wg sync.WaitGroup
			fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			for fw := range f.Names {
				wg.Add(1)
				go func() { defer wg.Done(); fw.Run(fctx) }()
			}
			err := fl.run(ctx)
			cancel() // the forwarders drain what the follower offered last
			wg.Wait()
			return err
		},
	}
}

func (f *SIEMFeed) register(reg prometheus.Registerer) error {
	for fw, name := range f.Names {
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
	feed    *SIEMFeed
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
	if behind := head - pos.Events; behind > int64(t.feed.Queue) {
		t.log.Warn("the SIEM feed was stopped while many events were recorded: sending only the newest; export the rest with keystage audit export",
			"skipped_from", pos.Events+1, "skipped_to", head-int64(t.feed.Queue))
		pos.Events = head - int64(t.feed.Queue)
	}
	return pos, nil
}

func (t *trailFollower) save(pos feedPosition) {
	b, _ := json.Marshal(pos)
	if err := private.Replace(t.posFile, b); err != nil {
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
	if len(t.feed.Events) > 0 {
		for {
			evs, err := t.s.AuditEvents(ctx, pos.Events, 500)
			if err != nil {
				if ctx.Err() == nil {
					t.log.Warn("reading the audit trail for the SIEM failed; will retry", "err", err)
				}
				break
			}
			for _, ev := range evs {
				m := siem.EventMessage(ev, t.feed.Host)
				for _, fw := range t.feed.Events {
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
			for _, fw := range append(t.feed.Witness[:len(t.feed.Witness):len(t.feed.Witness)], t.feed.Events...) {
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
