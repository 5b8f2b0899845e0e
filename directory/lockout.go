package directory

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"keystage.dev/keystage/audit"
)

// Lockout is the one policy every frontend asks before it verifies a
// password, in the manner of a smart lockout rather than a hard lock: a
// guesser is refused without handing the guessed-at person a lock-out.
//
// Each account has sources that are familiar to it: those it has signed in
// from (an LDAP client address, a portal device cookie, a RADIUS
// Calling-Station-Id at its NAS) and the trusted addresses of application
// servers. Failures are counted in three kinds of counter:
//
//   - the account's familiar counter, fed by its familiar sources: when it
//     trips, the account is locked (Threshold). A trusted address has a
//     familiar counter of its own for each account, which locks the
//     account on that address alone;
//   - the account's unfamiliar counter, fed by every source unfamiliar to
//     it taken together, since a pupil can invent Calling-Station-Ids at
//     will: when it trips, unfamiliar sources are refused for that account,
//     and its familiar sources still work (UnfamiliarThreshold);
//   - a source's own counter, fed by its failures on accounts it is
//     unfamiliar to: when it trips, that source is blocked from every
//     account it is unfamiliar to, and still works for those it knows
//     (SourceThreshold).
//
// A counter locks first for Base, doubling with each further failure up to
// Max: a source that guesses is slowed, then blocked. A wrong password that
// was already counted (where the server sees it) counts once. The counters
// live in the Store, so that several nodes share them; when the store
// cannot be written they are kept in memory, and when memory is full too,
// sign-ins are refused until it drains (counting never fails open).
type Lockout struct {
	Store Store
	// Threshold is the failures from familiar sources before the account
	// is locked; default 5.
	Threshold int
	// UnfamiliarThreshold is the failures from unfamiliar sources, all
	// together, before they are refused for the account; default 5.
	UnfamiliarThreshold int
	// SourceThreshold is the failures from one source, on accounts it is
	// unfamiliar to, before it is blocked; default 10.
	SourceThreshold int
	Window          time.Duration // failures older than this are forgotten; default 15m
	Base            time.Duration // first lock; default 1m
	Max             time.Duration // longest lock; default 30m
	// FamiliarFor is how long a source stays familiar after the account's
	// last sign-in from it; default 90 days.
	FamiliarFor time.Duration
	// FamiliarKeep is how many familiar sources an account keeps (the most
	// recent); default 20.
	FamiliarKeep int
	// AuditEvery is how often the failures counted are summed up into the
	// audit trail; default 5m.
	AuditEvery time.Duration
	// MemoryLimit bounds the counters kept in memory while the store cannot
	// be written; default 10,000.
	MemoryLimit int
	Log         *slog.Logger
	// OnLock, when set, is told of each failure that leaves a counter
	// locked (a lock begun or lengthened), for metrics: key is one of
	// AccountKey, UnfamiliarKey or SourceKey.
	OnLock func(key string)

	st *lockState
}

// ErrCannotCount refuses a sign-in while failures cannot be counted (the
// store cannot be written and the counters kept in memory are full).
var ErrCannotCount = errors.New("lockout: failed sign-ins cannot be counted, so sign-ins are refused for now")

// Origin is where a sign-in comes from: its source, in the words of the
// lockout.
type Origin struct {
	// ID names the source, prefixed by its kind: "ldap:192.0.2.7",
	// "radius:aa-bb-cc-dd-ee-ff@ap-hall", "portal:device:…". Empty when
	// the frontend cannot tell.
	ID string
	// Trusted is an address the operator configured (an application
	// server that binds for many people): familiar to every account.
	Trusted bool
	// Becomes, when set, is the ID the source takes once it has signed in
	// (a portal device cookie given with this answer): a good sign-in makes
	// it familiar, while failures count under ID (the address).
	Becomes string
}

// Scope says what a lock holds.
type Scope int

// The scopes of a lock.
const (
	ScopeNone       Scope = iota
	ScopeAccount          // the account, from every source (familiar failures)
	ScopeNewDevices       // the account, from sources unfamiliar to it
	ScopeDevice           // this source, on accounts unfamiliar to it
)

// Counter keys. Metrics tell them apart by prefix.
const (
	accountPrefix    = "account:"
	unfamiliarPrefix = "unfamiliar:"
	sourcePrefix     = "source:"
)

// AccountKey is the familiar counter of an account.
func AccountKey(username string) string { return accountPrefix + username }

// familiarKey is the familiar counter that failures from src count in: the
// account's, or, for a trusted address, the account's on that address
// alone, since an application server (Moodle) binds for whoever types at
// it, and a pupil there must not lock the owner's own devices out.
func familiarKey(username string, src Origin) string {
	if src.Trusted {
		return AccountKey(username) + "|" + src.ID
	}
	return AccountKey(username)
}

// UnfamiliarKey is the counter of an account's unfamiliar sources.
func UnfamiliarKey(username string) string { return unfamiliarPrefix + username }

// SourceKey is the counter of a source.
func SourceKey(id string) string { return sourcePrefix + id }

// KeyKind names a counter key's kind: "account", "unfamiliar" or "source".
func KeyKind(key string) string {
	switch {
	case len(key) >= len(accountPrefix) && key[:len(accountPrefix)] == accountPrefix:
		return "account"
	case len(key) >= len(unfamiliarPrefix) && key[:len(unfamiliarPrefix)] == unfamiliarPrefix:
		return "unfamiliar"
	}
	return "source"
}

// Lock is a refusal by the lockout.
type Lock struct {
	Scope Scope
	Until time.Time
}

// Decision is the lock as the gate words it.
func (k Lock) Decision() Decision {
	r := ReasonLockedOut
	switch k.Scope {
	case ScopeNewDevices:
		r = ReasonNewDevicesLocked
	case ScopeDevice:
		r = ReasonDeviceBlocked
	}
	return Decision{Reason: r, Until: k.Until}
}

// Settings fills in the defaults.
func (l *Lockout) settings() Lockout {
	c := *l
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Threshold, 5)
	def(&c.UnfamiliarThreshold, 5)
	def(&c.SourceThreshold, 10)
	def(&c.FamiliarKeep, 20)
	def(&c.MemoryLimit, 10000)
	defD(&c.Window, 15*time.Minute)
	defD(&c.Base, time.Minute)
	defD(&c.Max, 30*time.Minute)
	defD(&c.FamiliarFor, 90*24*time.Hour)
	defD(&c.AuditEvery, 5*time.Minute)
	c.st = nil
	return c
}

// lookback is how far back a counter can still hold a lock: a lock lasts up
// to Max after the last failure, which may be longer than Window.
func (c *Lockout) lookback() time.Duration { return max(c.Window, c.Max) }

// lockState is what one node keeps in memory.
type lockState struct {
	key []byte // keys the fingerprints of wrong passwords

	mu        sync.Mutex
	mem       map[string]*memCounter
	tally     map[string]*accountTally
	unknown   int
	blocked   []string
	blockedN  int
	lastFlush time.Time
	lastPrune time.Time

	mem2 memoryState // kept by Run (lockout_memory.go)
}

type memCounter struct {
	n    int
	last time.Time
	fps  map[string]bool
}

type accountTally struct {
	familiar, unfamiliar int
	sources              []string
	schools              []string // the account's, so a school's dashboard counts its own
}

// Init readies the lockout's state; New calls it. A Lockout must not be
// copied after Init.
func (l *Lockout) Init() {
	if l.st != nil {
		return
	}
	k := make([]byte, 32)
	rand.Read(k)
	l.st = &lockState{key: k, mem: map[string]*memCounter{}, tally: map[string]*accountTally{}}
}

func (l *Lockout) state() *lockState {
	l.Init()
	return l.st
}

func (l *Lockout) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Attempt is one sign-in under way: Begin says whether it may go on to
// the password, and Fail or Succeed ends it.
type Attempt struct {
	l        *Lockout
	username string
	id       int64    // 0: no such account
	school   string   // the account's school
	also     []string // the schools it is also at (shared with the account: not changed)
	src      Origin
	familiar bool
	seen     time.Time // last sign-in from src
	failures bool      // the counter this attempt would clear has failures
	at       time.Time
	// Lock is set when the attempt is refused before its password is
	// looked at.
	Lock Lock
}

// schools are the account's school and those it is also at, made when a
// failure is tallied rather than for every attempt.
func (a *Attempt) schools() []string {
	if a.school == "" {
		return nil
	}
	return append([]string{a.school}, a.also...)
}

// Locked says whether the attempt is refused.
func (a *Attempt) Locked() bool { return a.Lock.Scope != ScopeNone }

// Familiar says whether the source is familiar to the account.
func (a *Attempt) Familiar() bool { return a.familiar }

// Begin starts a sign-in to account a (zero when there is no such
// account, with the name given) from src at t. It reads the counters that
// apply and sets the attempt's Lock when one of them holds; an error (the
// store cannot be read, or ErrCannotCount) refuses the sign-in.
func (l *Lockout) Begin(ctx context.Context, a Account, username string, src Origin, t time.Time) (*Attempt, error) {
	c := l.settings()
	st := l.state()
	if a.ID != 0 {
		username = a.Username
	}
	at := &Attempt{l: l, username: username, id: a.ID, src: src, at: t, school: a.School, also: a.AlsoSchools}
	st.mu.Lock()
	full := st.memFull(&c, t)
	st.mu.Unlock()
	if full {
		return nil, ErrCannotCount
	}
	if src.Trusted {
		at.familiar = true
	} else if a.ID != 0 && src.ID != "" {
		seen, err := l.familiar(ctx, a.ID, src.ID)
		if err != nil {
			return nil, fmt.Errorf("lockout: %w", err)
		}
		at.seen = seen
		at.familiar = !seen.IsZero() && !seen.Before(t.Add(-c.FamiliarFor))
	}
	check := func(key string, th int, scope Scope) (bool, error) {
		until, n, err := l.lockedUntil(ctx, &c, key, th, t)
		if err != nil {
			return false, err
		}
		if !until.IsZero() {
			at.Lock = Lock{Scope: scope, Until: until}
			return true, nil
		}
		if scope != ScopeDevice {
			at.failures = at.failures || n > 0
		}
		return false, nil
	}
	if at.familiar {
		_, err := check(familiarKey(username, src), c.Threshold, ScopeAccount)
		return at, err
	}
	if src.ID != "" {
		if locked, err := check(SourceKey(src.ID), c.SourceThreshold, ScopeDevice); locked || err != nil {
			return at, err
		}
	}
	if a.ID != 0 {
		_, err := check(UnfamiliarKey(username), c.UnfamiliarThreshold, ScopeNewDevices)
		return at, err
	}
	return at, nil
}

// lockedUntil reads a counter from the store and memory together.
func (l *Lockout) lockedUntil(ctx context.Context, c *Lockout, key string, th int, t time.Time) (time.Time, int, error) {
	st := l.state()
	st.mu.Lock()
	n, last, ok := st.storedMem(c, key, t)
	st.mu.Unlock()
	if !ok {
		var err error
		if n, last, err = l.Store.Failures(ctx, key, t, c.lookback()); err != nil {
			return time.Time{}, 0, fmt.Errorf("lockout: %w", err)
		}
	}
	st.mu.Lock()
	if m := st.mem[key]; m != nil && !m.last.Before(t.Add(-c.lookback())) {
		n += m.n
		if m.last.After(last) {
			last = m.last
		}
	}
	st.mu.Unlock()
	return lockEnd(c, n, th, last, t), n, nil
}

// lockEnd is when a counter of n failures, the last at last, unlocks: zero
// when it does not hold at t. The end is rounded up to the second, so that
// the time shown is the time the lock ends.
func lockEnd(c *Lockout, n, th int, last, t time.Time) time.Time {
	if n < th {
		return time.Time{}
	}
	d := c.Base
	for i := th; i < n && d < c.Max; i++ {
		d *= 2
	}
	d = min(d, c.Max)
	until := last.Add(d)
	if r := until.Truncate(time.Second); !r.Equal(until) {
		until = r.Add(time.Second)
	}
	if !t.Before(until) {
		return time.Time{}
	}
	return until
}

// Fingerprint is the keyed fingerprint of a wrong password for an account:
// the same password tried again is known without keeping it.
func (l *Lockout) fingerprint(username, password string) string {
	if password == "" {
		return ""
	}
	m := hmac.New(sha256.New, l.state().key)
	m.Write([]byte(username))
	m.Write([]byte{0})
	m.Write([]byte(password))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// Fail counts the attempt as failed. password is the wrong password where
// the server sees it ("" where it does not: MS-CHAP, EAP), so that the
// same one tried again counts once. An error is ErrCannotCount: the
// failure could be counted neither in the store nor in memory.
func (a *Attempt) Fail(ctx context.Context, password string) error {
	if a.Locked() {
		return nil // refused before the password was looked at
	}
	l := a.l
	c := l.settings()
	fp := l.fingerprint(a.username, password)
	var errs []error
	var blocked []Lock
	count := func(key string, th int, scope Scope) {
		until, err := l.count(ctx, &c, key, th, fp, a.at)
		if err != nil {
			errs = append(errs, err)
		}
		if !until.IsZero() {
			blocked = append(blocked, Lock{Scope: scope, Until: until})
		}
	}
	if a.familiar {
		count(familiarKey(a.username, a.src), c.Threshold, ScopeAccount)
	} else {
		if a.src.ID != "" {
			count(SourceKey(a.src.ID), c.SourceThreshold, ScopeDevice)
		}
		if a.id != 0 {
			count(UnfamiliarKey(a.username), c.UnfamiliarThreshold, ScopeNewDevices)
		}
	}
	l.tallyFailure(ctx, &c, a, blocked)
	return errors.Join(errs...)
}

// count notes one failure under key and returns when the counter is locked
// until (zero if it is not). A lock that begins with this failure calls
// OnLock; so does one it lengthens.
func (l *Lockout) count(ctx context.Context, c *Lockout, key string, th int, fp string, t time.Time) (time.Time, error) {
	st := l.state()
	n, last, done, err := l.countMem(c, key, fp, t)
	if err != nil {
		return time.Time{}, err
	}
	if !done {
		if n, last, err = l.countStore(ctx, c, key, fp, t); err != nil {
			return time.Time{}, err
		}
	}
	until := lockEnd(c, n, th, last, t)
	if !until.IsZero() && l.OnLock != nil {
		l.OnLock(key)
	}
	if n == th && !until.IsZero() && KeyKind(key) != "source" {
		l.recordLock(ctx, key, n, until, t)
	}
	if t.Sub(st.lastPruneAt()) > c.lookback() {
		st.setPruned(t)
		if _, err := l.Store.PruneFailures(ctx, t.Add(-c.lookback())); err != nil {
			l.log().Warn("lockout: pruning old counters", "err", err)
		}
	}
	return until, nil
}

// countStore counts one failure in the store, or in memory when the store
// cannot be written.
func (l *Lockout) countStore(ctx context.Context, c *Lockout, key, fp string, t time.Time) (int, time.Time, error) {
	st := l.state()
	n, err := l.Store.NoteFailure(ctx, key, t, c.Window, fp)
	last := t
	if err != nil {
		l.log().Warn("lockout: the store cannot count a failure; counting it in memory", "kind", KeyKind(key), "err", err)
		sn, slast, rerr := l.Store.Failures(ctx, key, t, c.lookback())
		if rerr != nil {
			sn, slast = 0, time.Time{}
		}
		st.mu.Lock()
		mn, ok := st.memNote(c, key, fp, t)
		st.mu.Unlock()
		if !ok {
			return 0, time.Time{}, ErrCannotCount
		}
		n = sn + mn
		if slast.After(last) {
			last = slast
		}
	} else {
		st.mu.Lock()
		if m := st.mem[key]; m != nil && !m.last.Before(t.Add(-c.lookback())) {
			n += m.n
		}
		st.mu.Unlock()
	}
	return n, last, nil
}

func (st *lockState) lastPruneAt() time.Time {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lastPrune
}

func (st *lockState) setPruned(t time.Time) {
	st.mu.Lock()
	st.lastPrune = t
	st.mu.Unlock()
}

// memNote counts a failure in memory; false when memory is full. st.mu is
// held.
func (st *lockState) memNote(c *Lockout, key, fp string, t time.Time) (int, bool) {
	m := st.mem[key]
	if m != nil && m.last.Before(t.Add(-c.Window)) {
		delete(st.mem, key)
		m = nil
	}
	if m == nil {
		if st.memFull(c, t) {
			return 0, false
		}
		m = &memCounter{fps: map[string]bool{}}
		st.mem[key] = m
	}
	if fp != "" && m.fps[fp] {
		return m.n, true
	}
	if fp != "" && len(m.fps) < 16 {
		m.fps[fp] = true
	}
	m.n++
	m.last = t
	return m.n, true
}

// memFull says whether memory holds as many counters as it may, once those
// that can no longer hold a lock are forgotten. st.mu is held.
func (st *lockState) memFull(c *Lockout, t time.Time) bool {
	if len(st.mem) < c.MemoryLimit {
		return false
	}
	for k, m := range st.mem {
		if m.last.Before(t.Add(-c.lookback())) {
			delete(st.mem, k)
		}
	}
	return len(st.mem) >= c.MemoryLimit
}

// Succeed ends the attempt as a good sign-in: the source becomes (or stays)
// familiar to the account, and its familiar counter is cleared. The
// unfamiliar counter is not: the owner signing in must not hand a guesser
// a fresh allowance.
func (a *Attempt) Succeed(ctx context.Context) error {
	if a.id == 0 || a.Locked() {
		return nil
	}
	c := a.l.settings()
	var errs []error
	if a.src.Becomes != "" {
		errs = append(errs, a.l.noteFamiliar(ctx, a.id, a.src.Becomes, a.at, c.FamiliarKeep))
	} else if a.src.ID != "" && !a.src.Trusted {
		// Once a day is enough to keep a source familiar, and spares a
		// write on every sign-in.
		if !a.familiar || a.seen.IsZero() || a.at.Sub(a.seen) > 24*time.Hour {
			errs = append(errs, a.l.noteFamiliar(ctx, a.id, a.src.ID, a.at, c.FamiliarKeep))
		}
	}
	if a.failures && a.familiar {
		key := familiarKey(a.username, a.src)
		st := a.l.state()
		st.mu.Lock()
		st.forgetKey(key)
		st.mu.Unlock()
		errs = append(errs, a.l.Store.ClearFailures(ctx, key))
	}
	return errors.Join(errs...)
}

// auditTallyAccounts bounds the accounts named in one period's summary;
// the rest are counted together.
const auditTallyAccounts = 200

// recordLock writes the event of an account's lock beginning: at most one
// per counter per lock, so a flood cannot grow the trail.
func (l *Lockout) recordLock(ctx context.Context, key string, n int, until, t time.Time) {
	scope, user := "account", key[len(accountPrefix):]
	if KeyKind(key) == "unfamiliar" {
		scope, user = "new-devices", key[len(unfamiliarPrefix):]
	}
	err := l.Store.Update(ctx, func(ctx context.Context, tx Tx) error {
		return tx.Record(ctx, &audit.Event{Time: t, Actor: "system", Action: audit.ActionSigninLocked, Target: audit.AccountTarget(user),
			After: audit.Snapshot(map[string]any{"scope": scope, "failures": n, "until": until.UTC().Format(time.RFC3339)})})
	})
	if err != nil {
		l.log().Warn("lockout: recording a lock", "account", user, "err", err)
	}
}

func (l *Lockout) tallyFailure(ctx context.Context, c *Lockout, a *Attempt, blocked []Lock) {
	st := l.state()
	st.mu.Lock()
	if a.id == 0 {
		st.unknown++
	} else {
		at := st.tally[a.username]
		if at == nil {
			if len(st.tally) >= auditTallyAccounts {
				at = st.tally[""]
				if at == nil {
					at = &accountTally{}
					st.tally[""] = at
				}
			} else {
				at = &accountTally{schools: a.schools()}
				st.tally[a.username] = at
			}
		}
		if a.familiar {
			at.familiar++
		} else {
			at.unfamiliar++
		}
		if a.src.ID != "" && len(at.sources) < 5 && !contains(at.sources, a.src.ID) {
			at.sources = append(at.sources, a.src.ID)
		}
	}
	for _, b := range blocked {
		if b.Scope == ScopeDevice && a.src.ID != "" && !contains(st.blocked, a.src.ID) {
			if len(st.blocked) < 20 {
				st.blocked = append(st.blocked, a.src.ID)
			} else {
				st.blockedN++
			}
		}
	}
	if st.lastFlush.IsZero() {
		st.lastFlush = a.at
	}
	due := a.at.Sub(st.lastFlush) >= c.AuditEvery
	st.mu.Unlock()
	if due {
		l.Flush(ctx, a.at)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Flush writes the failures counted since the last flush to the audit
// trail, in one transaction: an event per account (at most a few hundred,
// the rest summed up) and one for unknown names and blocked sources. The
// lockout flushes itself every AuditEvery as failures come; the server
// also flushes when it stops.
func (l *Lockout) Flush(ctx context.Context, t time.Time) {
	st := l.state()
	st.mu.Lock()
	tally, unknown, blocked, blockedN := st.tally, st.unknown, st.blocked, st.blockedN
	st.tally, st.unknown, st.blocked, st.blockedN, st.lastFlush = map[string]*accountTally{}, 0, nil, 0, t
	st.mu.Unlock()
	if len(tally) == 0 && unknown == 0 && len(blocked) == 0 {
		return
	}
	names := make([]string, 0, len(tally))
	for n := range tally {
		names = append(names, n)
	}
	sort.Strings(names)
	err := l.Store.Update(ctx, func(ctx context.Context, tx Tx) error {
		for _, n := range names {
			at := tally[n]
			target := audit.AccountTarget(n)
			if n == "" {
				target = "lockout"
			}
			after := map[string]any{"familiar": at.familiar, "unfamiliar": at.unfamiliar, "sources": at.sources}
			if len(at.schools) > 0 {
				after["schools"] = at.schools
			}
			if err := tx.Record(ctx, &audit.Event{Time: t, Actor: "system", Action: audit.ActionSigninFailures, Target: target,
				After: audit.Snapshot(after)}); err != nil {
				return err
			}
		}
		if unknown == 0 && len(blocked) == 0 {
			return nil
		}
		return tx.Record(ctx, &audit.Event{Time: t, Actor: "system", Action: audit.ActionSigninFailures, Target: "lockout",
			After: audit.Snapshot(map[string]any{"unknown_names": unknown, "blocked_sources": blocked, "more_blocked_sources": blockedN})})
	})
	if err != nil {
		l.log().Warn("lockout: recording failed sign-ins", "err", err)
	}
}

// Clear forgets the account's failure counters (familiar, and from sources
// new to it), so that its locks end now; a trusted address's own counter
// for the account goes too when it is held in this process. Sources
// blocked for failing on many accounts stay blocked: they are not the
// account's.
func (l *Lockout) Clear(ctx context.Context, username string) error {
	keys := []string{AccountKey(username), UnfamiliarKey(username)}
	st := l.state()
	st.mu.Lock()
	for k := range st.mem {
		if k == keys[0] || k == keys[1] || strings.HasPrefix(k, keys[0]+"|") {
			if k != keys[0] && k != keys[1] {
				keys = append(keys, k)
			}
			delete(st.mem, k)
		}
	}
	for k := range st.mem2.base {
		if strings.HasPrefix(k, keys[0]+"|") && !contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		st.forgetKey(k)
	}
	st.mu.Unlock()
	var errs []error
	for _, k := range keys {
		errs = append(errs, l.Store.ClearFailures(ctx, k))
	}
	return errors.Join(errs...)
}
