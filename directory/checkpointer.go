package directory

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"keystage.dev/keystage/audit"
)

// DefaultCheckpointPoll is how often a Checkpointer looks at the head of
// the trail to honour Every between intervals.
const DefaultCheckpointPoll = 15 * time.Second

// Checkpointer signs the head of the audit trail every Interval when it has
// moved, and sooner once Every events are unsigned, so that a rewrite of
// the trail in the database is caught within that bound. On several nodes
// each checkpoints; the first to sign a head wins and the others skip it.
type Checkpointer struct {
	Store    Store
	Signer   *audit.Signer
	Interval time.Duration
	// Every signs sooner once this many events are unsigned; 0 signs on
	// the interval only.
	Every int64
	// Poll is how often the head is looked at for Every; 0 is
	// DefaultCheckpointPoll.
	Poll time.Duration
	// Now is the clock the checkpoints are signed with; nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Run signs at once, then on the schedule until ctx ends, and once more on
// the way out, so that a stopped server leaves nothing unsigned. A failed
// signing is logged and tried again on the next tick.
func (c *Checkpointer) Run(ctx context.Context) error {
	c.sign(ctx)
	every := time.NewTicker(c.Interval)
	defer every.Stop()
	poll := time.NewTicker(cmp.Or(c.Poll, DefaultCheckpointPoll))
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c.sign(sctx)
			cancel()
			return nil
		case <-every.C:
			c.sign(ctx)
		case <-poll.C:
			if c.due(ctx) {
				c.sign(ctx)
			}
		}
	}
}

// due reports whether Every events or more are unsigned.
func (c *Checkpointer) due(ctx context.Context) bool {
	if c.Every <= 0 {
		return false
	}
	head, _, err := c.Store.AuditHead(ctx)
	if err != nil {
		return false
	}
	last, err := c.Store.LastCheckpoint(ctx)
	return err != nil || head-last.Seq >= c.Every
}

func (c *Checkpointer) sign(ctx context.Context) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	cp, made, err := Checkpoint(ctx, c.Store, c.Signer, now())
	if err != nil {
		c.Log.Warn("signing an audit checkpoint failed; will retry", "err", err)
		return
	}
	if made {
		c.Log.Debug("audit checkpoint signed", "seq", cp.Seq)
	}
}
