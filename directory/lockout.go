package directory

import (
	"context"
	"time"
)

// Lockout counts failed authentications per account and per source
// address, across LDAP, RADIUS and the portal, and locks with back-off: after
// Threshold failures within Window the key is locked for Base, doubling with
// each further failure up to Max.
type Lockout struct {
	Store     Store
	Threshold int           // failures before the first lock; default 5
	Window    time.Duration // failures older than this are forgotten; default 15m
	Base      time.Duration // first lock; default 1m
	Max       time.Duration // longest lock; default 30m
	// OnLock, when set, is told of each failure that leaves key locked (a
	// lock begun or lengthened), for metrics.
	OnLock func(key string)
}

// AccountKey and AddressKey name the counters.
func AccountKey(username string) string { return "account:" + username }

// AddressKey is the counter of a source address.
func AddressKey(addr string) string { return "addr:" + addr }

func (l *Lockout) params() (int, time.Duration, time.Duration, time.Duration) {
	th, w, b, m := l.Threshold, l.Window, l.Base, l.Max
	if th <= 0 {
		th = 5
	}
	if w <= 0 {
		w = 15 * time.Minute
	}
	if b <= 0 {
		b = time.Minute
	}
	if m <= 0 {
		m = 30 * time.Minute
	}
	return th, w, b, m
}

// Fail records a failure under key at t and returns when the key is locked
// until (zero if not locked).
func (l *Lockout) Fail(ctx context.Context, key string, t time.Time) (time.Time, error) {
	_, w, _, _ := l.params()
	if _, err := l.Store.NoteFailure(ctx, key, t, w); err != nil {
		return time.Time{}, err
	}
	until, err := l.LockedUntil(ctx, key, t)
	if err == nil && !until.IsZero() && l.OnLock != nil {
		l.OnLock(key)
	}
	return until, err
}

// LockedUntil says until when key is locked at t (zero if it is not).
func (l *Lockout) LockedUntil(ctx context.Context, key string, t time.Time) (time.Time, error) {
	th, w, base, max := l.params()
	n, last, err := l.Store.Failures(ctx, key, t, w)
	if err != nil || n < th {
		return time.Time{}, err
	}
	d := base
	for i := th; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	until := last.Add(d)
	if !t.Before(until) {
		return time.Time{}, nil
	}
	return until, nil
}

// Succeed clears the account's counter after a good authentication.
func (l *Lockout) Succeed(ctx context.Context, key string) error {
	return l.Store.ClearFailures(ctx, key)
}
