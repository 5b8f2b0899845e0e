package directory

import (
	"context"
	"time"
)

// The lockout's counters and familiar sources held in memory while Run
// runs (keystage serve), so that a sign-in asks the store nothing and
// writes nothing on its way:
//
//   - a failure is counted in memory (the counters the store cannot take
//     yet, st.mem) and written to the store by Run within LockoutFlushEvery;
//     when it cannot be written it stays in memory, and when memory is full
//     sign-ins are refused, as without Run (counting never fails open);
//   - the store's counters, every node's, are read whole every
//     LockoutRefreshEvery, so that failures counted on another node count
//     here within LockoutFlushEvery + LockoutRefreshEvery (1.25 s, plus the
//     time the writes and reads take);
//   - while the last good read is older than LockoutFreshFor (3 s: the
//     database is away, or Run has stopped) every sign-in reads the store
//     for its counters as it does without Run, and is refused when the
//     store cannot be read;
//   - a familiar source, once read or made, is remembered (a source only
//     becomes familiar by signing in, so a remembered one stays right); one
//     read as unfamiliar is read again after LockoutFreshFor, since another
//     node may have made it familiar meanwhile (until then it is treated as
//     unfamiliar here: stricter, never laxer);
//   - a source made familiar by a good sign-in is written by Run within
//     LockoutFlushEvery.
//
// Without Run (the commands, most tests) every counter is read and written
// in the store as the request goes, as before.
const (
	LockoutFlushEvery   = 250 * time.Millisecond
	LockoutRefreshEvery = time.Second
	LockoutFreshFor     = 3 * time.Second
)

// lockoutRefreshLimit bounds the counters read at each refresh: past it,
// the counters not read are read from the store when asked for.
const lockoutRefreshLimit = 100_000

// familiarCacheLimit bounds the familiar sources remembered; past it the
// memory is emptied and filled again from the store as sign-ins come.
const familiarCacheLimit = 500_000

// storedCounter is a counter as the store held it at the last refresh, or
// as this node's last write of it left it.
type storedCounter struct {
	n    int
	last time.Time
}

type famKey struct {
	id  int64
	src string
}

type famEntry struct {
	seen time.Time // zero: not familiar when read
	read time.Time // wall time it was read
}

// memoryState is the part of lockState that Run keeps; st.mu guards it.
type memoryState struct {
	running    bool
	base       map[string]storedCounter
	baseAt     time.Time // wall time the last good refresh began
	baseFull   bool      // the last refresh read every live counter
	seenFP     map[string]map[string]time.Time
	fam        map[famKey]famEntry
	famPending map[famKey]time.Time
	failing    bool // the last flush or refresh failed (logged once)
	// wall is the clock of freshness (time.Now; a test may hold it back).
	wall func() time.Time
}

func (st *lockState) wallNow() time.Time {
	if st.mem2.wall != nil {
		return st.mem2.wall()
	}
	return time.Now()
}

// fresh says whether the counters in memory may be used instead of the
// store's. st.mu is held.
func (st *lockState) fresh() bool {
	m := &st.mem2
	return m.running && !m.baseAt.IsZero() && st.wallNow().Sub(m.baseAt) < LockoutFreshFor
}

// Run keeps the counters and familiar sources in memory (see
// LockoutFlushEvery) until ctx ends, then writes what it holds. now is the
// directory's clock. Only one Run at a time makes sense; a second returns
// at once.
func (l *Lockout) Run(ctx context.Context, now func() time.Time) error {
	st := l.state()
	st.mu.Lock()
	if st.mem2.running {
		st.mu.Unlock()
		return nil
	}
	st.mem2.running = true
	if st.mem2.fam == nil {
		st.mem2.fam = map[famKey]famEntry{}
		st.mem2.famPending = map[famKey]time.Time{}
		st.mem2.seenFP = map[string]map[string]time.Time{}
	}
	st.mu.Unlock()
	defer func() {
		// What is still in memory goes to the store before the process
		// ends; from now on every sign-in reads and writes the store.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		l.flushMemory(fctx, now())
		st.mu.Lock()
		st.mem2.running = false
		st.mem2.baseAt = time.Time{}
		st.mu.Unlock()
	}()
	c := l.settings()
	l.refresh(ctx, &c, now())
	flush := time.NewTicker(LockoutFlushEvery)
	defer flush.Stop()
	nextRefresh := time.Now().Add(LockoutRefreshEvery)
	lastPrune := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-flush.C:
		}
		t := now()
		l.flushMemory(ctx, t)
		if time.Now().After(nextRefresh) {
			nextRefresh = time.Now().Add(LockoutRefreshEvery)
			l.refresh(ctx, &c, t)
		}
		if time.Since(lastPrune) > c.lookback() {
			lastPrune = time.Now()
			if _, err := l.Store.PruneFailures(ctx, t.Add(-c.lookback())); err != nil {
				l.log().Warn("lockout: pruning old counters", "err", err)
			}
		}
	}
}

// refresh reads every node's counters from the store.
func (l *Lockout) refresh(ctx context.Context, c *Lockout, t time.Time) {
	st := l.state()
	began := st.wallNowLocked()
	cs, err := l.Store.RecentFailures(ctx, t.Add(-c.lookback()), 1, lockoutRefreshLimit)
	if err != nil {
		l.noteFailing("lockout: cannot read the failure counters; sign-ins read the store while this lasts", err)
		return
	}
	base := make(map[string]storedCounter, len(cs))
	for _, k := range cs {
		base[k.Key] = storedCounter{n: k.Count, last: k.LastAt}
	}
	st.mu.Lock()
	m := &st.mem2
	m.base, m.baseAt, m.baseFull = base, began, len(cs) < lockoutRefreshLimit
	for k, fps := range m.seenFP {
		for fp, at := range fps {
			if at.Before(t.Add(-c.Window)) {
				delete(fps, fp)
			}
		}
		if len(fps) == 0 {
			delete(m.seenFP, k)
		}
	}
	if len(m.fam) > familiarCacheLimit {
		m.fam = map[famKey]famEntry{}
	}
	recovered := m.failing
	m.failing = false
	st.mu.Unlock()
	if recovered {
		l.log().Info("lockout: failure counters read and written again")
	}
}

func (st *lockState) wallNowLocked() time.Time {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.wallNow()
}

func (l *Lockout) noteFailing(msg string, err error) {
	st := l.state()
	st.mu.Lock()
	was := st.mem2.failing
	st.mem2.failing = true
	st.mu.Unlock()
	if !was {
		l.log().Warn(msg, "err", err)
	}
}

// flushMemory writes the failures counted in memory and the sources made
// familiar. A counter whose write fails stays in memory, to be tried again.
func (l *Lockout) flushMemory(ctx context.Context, t time.Time) {
	c := l.settings()
	st := l.state()
	type pending struct {
		key  string
		n    int
		last time.Time
		fps  []string
	}
	st.mu.Lock()
	var ps []pending
	for k, m := range st.mem {
		p := pending{key: k, n: m.n, last: m.last}
		for fp := range m.fps {
			p.fps = append(p.fps, fp)
		}
		ps = append(ps, p)
	}
	fams := make(map[famKey]time.Time, len(st.mem2.famPending))
	for k, at := range st.mem2.famPending {
		fams[k] = at
	}
	st.mu.Unlock()
	for _, p := range ps {
		n, err := l.writeCounter(ctx, &c, p.key, p.n, p.last, p.fps)
		if err != nil {
			l.noteFailing("lockout: cannot write failure counters; counting them in memory meanwhile", err)
			continue
		}
		st.mu.Lock()
		if m := st.mem[p.key]; m != nil {
			m.n -= p.n
			for _, fp := range p.fps {
				delete(m.fps, fp)
			}
			if m.n <= 0 {
				delete(st.mem, p.key)
			}
		}
		if st.mem2.base != nil {
			st.mem2.base[p.key] = storedCounter{n: n, last: p.last}
		}
		if st.mem2.seenFP != nil && len(p.fps) > 0 {
			seen := st.mem2.seenFP[p.key]
			if seen == nil {
				seen = map[string]time.Time{}
				st.mem2.seenFP[p.key] = seen
			}
			for _, fp := range p.fps {
				seen[fp] = p.last
			}
		}
		st.mu.Unlock()
	}
	for k, at := range fams {
		if err := l.Store.NoteFamiliar(ctx, k.id, k.src, at, c.FamiliarKeep); err != nil {
			l.noteFailing("lockout: cannot write familiar sources; keeping them in memory meanwhile", err)
			continue
		}
		st.mu.Lock()
		if st.mem2.famPending[k].Equal(at) {
			delete(st.mem2.famPending, k)
		}
		st.mu.Unlock()
	}
}

// writeCounter writes n failures, the last at last, under key: one write
// per failure, the fingerprinted ones first, so that the store counts a
// password it has seen once. It returns the store's count after them.
func (l *Lockout) writeCounter(ctx context.Context, c *Lockout, key string, n int, last time.Time, fps []string) (int, error) {
	var total int
	for i := range n {
		fp := ""
		if i < len(fps) {
			fp = fps[i]
		}
		got, err := l.Store.NoteFailure(ctx, key, last, c.Window, fp)
		if err != nil {
			return 0, err
		}
		total = got
	}
	return total, nil
}

// familiarMem answers from memory whether src is familiar to account id:
// ok is false when the store must be asked. st.mu is held.
func (st *lockState) familiarMem(id int64, src string) (seen time.Time, ok bool) {
	e, found := st.mem2.fam[famKey{id, src}]
	if !found {
		return time.Time{}, false
	}
	if e.seen.IsZero() && st.wallNow().Sub(e.read) >= LockoutFreshFor {
		return time.Time{}, false
	}
	return e.seen, true
}

// familiar says when account id last signed in from src, from memory when
// Run keeps it, else from the store.
func (l *Lockout) familiar(ctx context.Context, id int64, src string) (time.Time, error) {
	st := l.state()
	st.mu.Lock()
	running := st.mem2.running
	if running {
		if seen, ok := st.familiarMem(id, src); ok {
			st.mu.Unlock()
			return seen, nil
		}
	}
	st.mu.Unlock()
	seen, err := l.Store.Familiar(ctx, id, src)
	if err != nil || !running {
		return seen, err
	}
	st.mu.Lock()
	if p := st.mem2.famPending[famKey{id, src}]; p.After(seen) {
		seen = p
	}
	st.mem2.fam[famKey{id, src}] = famEntry{seen: seen, read: st.wallNow()}
	st.mu.Unlock()
	return seen, nil
}

// noteFamiliar makes src familiar to account id at t: in memory, written by
// Run, when it runs; else in the store at once.
func (l *Lockout) noteFamiliar(ctx context.Context, id int64, src string, t time.Time, keep int) error {
	st := l.state()
	st.mu.Lock()
	if st.mem2.running {
		k := famKey{id, src}
		st.mem2.famPending[k] = t
		st.mem2.fam[k] = famEntry{seen: t, read: st.wallNow()}
		st.mu.Unlock()
		return nil
	}
	st.mu.Unlock()
	return l.Store.NoteFamiliar(ctx, id, src, t, keep)
}

// storedMem is the store's count under key as memory knows it: ok is false
// when the store must be asked (memory is not fresh, or the last refresh
// could not read every counter and this one was not among them). st.mu is
// held.
func (st *lockState) storedMem(c *Lockout, key string, t time.Time) (n int, last time.Time, ok bool) {
	if !st.fresh() {
		return 0, time.Time{}, false
	}
	b, found := st.mem2.base[key]
	if !found {
		return 0, time.Time{}, st.mem2.baseFull
	}
	if b.last.Before(t.Add(-c.lookback())) {
		return 0, time.Time{}, true
	}
	return b.n, b.last, true
}

// seenFingerprint says whether this node already wrote fp under key within
// the window. st.mu is held.
func (st *lockState) seenFingerprint(c *Lockout, key, fp string, t time.Time) bool {
	if fp == "" || st.mem2.seenFP == nil {
		return false
	}
	at, ok := st.mem2.seenFP[key][fp]
	return ok && !at.Before(t.Add(-c.Window))
}

// forgetKey drops what memory holds about a counter that was cleared.
// st.mu is held.
func (st *lockState) forgetKey(key string) {
	delete(st.mem, key)
	delete(st.mem2.base, key)
	delete(st.mem2.seenFP, key)
}

// countMem counts one failure in memory when Run keeps the counters fresh:
// done is false when the store must count it instead. The count is the
// store's as last read or written plus what memory holds; a fingerprint
// this node wrote already within the window counts once.
func (l *Lockout) countMem(c *Lockout, key, fp string, t time.Time) (n int, last time.Time, done bool, err error) {
	st := l.state()
	st.mu.Lock()
	defer st.mu.Unlock()
	sn, slast, ok := st.storedMem(c, key, t)
	if !ok {
		return 0, time.Time{}, false, nil
	}
	if slast.Before(t.Add(-c.Window)) {
		// The store starts this counter again with the next write.
		sn = 0
	}
	var mn int
	if st.seenFingerprint(c, key, fp, t) {
		if m := st.mem[key]; m != nil && !m.last.Before(t.Add(-c.Window)) {
			mn = m.n
		}
	} else if mn, ok = st.memNote(c, key, fp, t); !ok {
		return 0, time.Time{}, true, ErrCannotCount
	}
	last = t
	if slast.After(last) {
		last = slast
	}
	return sn + mn, last, true, nil
}
