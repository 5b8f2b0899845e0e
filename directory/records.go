package directory

import (
	"context"
	"sync"
	"time"
)

// UseFlushEvery is how often RunRecords writes the last uses gathered in
// memory: the register and the dormant-account report show a sign-in by
// LDAP or the portal at most this much later (RADIUS keeps its own batch,
// radius.use_flush).
const UseFlushEvery = 5 * time.Second

// useLimit bounds the last uses held in memory between writes; past it a
// use is written at once, on the request's way.
const useLimit = 200_000

// useBatch gathers last uses while RunRecords runs.
type useBatch struct {
	mu      sync.Mutex
	running bool
	n       int
	m       map[Service]map[int64]time.Time
}

// note keeps a use for the next write; false when the batch is not kept
// (RunRecords is not running) or is full.
func (b *useBatch) note(id int64, svc Service, t time.Time) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.running || b.n >= useLimit {
		return false
	}
	m := b.m[svc]
	if m == nil {
		m = map[int64]time.Time{}
		b.m[svc] = m
	}
	if old, ok := m[id]; !ok {
		b.n++
	} else if !t.After(old) {
		return true
	}
	m[id] = t
	return true
}

func (b *useBatch) take() map[Service]map[int64]time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.m
	b.m, b.n = map[Service]map[int64]time.Time{}, 0
	return m
}

// noteUse records that a used svc at t: gathered in memory while
// RunRecords runs, else written at once.
func (d *Directory) noteUse(ctx context.Context, a Account, svc Service, t time.Time) {
	if d.uses.note(a.ID, svc, t) {
		return
	}
	if err := d.store.NoteUse(ctx, a.ID, svc, t); err != nil {
		d.log.Warn("noting use", "account", a.Username, "err", err)
	}
}

// flushUses writes the uses gathered; a batch that cannot be written is
// kept for the next try, as long as there is room.
func (d *Directory) flushUses(ctx context.Context) {
	for svc, uses := range d.uses.take() {
		if err := d.store.NoteUses(ctx, svc, uses); err != nil {
			d.log.Warn("noting uses", "service", string(svc), "accounts", len(uses), "err", err)
			for id, t := range uses {
				d.uses.note(id, svc, t)
			}
		}
	}
}

// RunRecords keeps the operational records of sign-ins off the requests'
// way until ctx ends: the lockout's counters and familiar sources (see
// Lockout.Run) and the last uses (written every UseFlushEvery). It writes
// what it holds before it returns. keystage serve runs it; without it
// every sign-in reads and writes these records in the store as it goes.
func (d *Directory) RunRecords(ctx context.Context) error {
	d.uses.mu.Lock()
	if d.uses.running {
		d.uses.mu.Unlock()
		return nil
	}
	d.uses.running = true
	d.uses.m = map[Service]map[int64]time.Time{}
	d.uses.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { d.lockout.Run(ctx, d.now) })
	tick := time.NewTicker(UseFlushEvery)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-tick.C:
			d.flushUses(ctx)
		case <-ctx.Done():
			done = true
		}
	}
	d.uses.mu.Lock()
	d.uses.running = false
	d.uses.mu.Unlock()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	d.flushUses(fctx)
	wg.Wait()
	return nil
}
