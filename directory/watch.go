package directory

import (
	"context"

	"keystage.dev/keystage/audit"
)

// Watcher is implemented by stores that tell of committed changes on every
// node that shares the database, so that caches on the RADIUS and LDAP hot
// paths can forget what changed. Find it with a type assertion on Store.
type Watcher interface {
	// Watch calls fn with the audit targets ("account:jsmith",
	// "group:7a", …) of each committed transaction, on this node and on
	// every other, until ctx ends. It returns once the watch is in place.
	// fn must not block for long; it runs on the watcher's goroutine.
	Watch(ctx context.Context, fn func(targets []string)) error
}

// AllTargets is the target a Watcher tells when it may have missed changes
// (its connection broke): forget everything.
const AllTargets = "*"

// Changes is what one committed transaction touched that a frontend may
// hold in memory, as WatchChanges tells it.
type Changes struct {
	Accounts []string // usernames of its "account:NAME" targets
	NAS      bool     // a NAS client was added, changed or removed ("nas:NAME")
	All      bool     // the watcher may have missed changes: assume everything changed
}

// WatchChanges watches s, if it is a Watcher, and tells fn of each
// committed change to accounts or NAS clients. ok is false when s cannot
// tell of changes; the caller then relies on its timers alone.
func WatchChanges(ctx context.Context, s Store, fn func(Changes)) (ok bool, err error) {
	w, ok := s.(Watcher)
	if !ok {
		return false, nil
	}
	return true, w.Watch(ctx, func(targets []string) {
		var c Changes
		for _, t := range targets {
			if name, ok := audit.TargetName(t, audit.KindAccount); ok {
				c.Accounts = append(c.Accounts, name)
			}
			_, nas := audit.TargetName(t, audit.KindNAS)
			c.NAS = c.NAS || nas
			c.All = c.All || t == AllTargets
		}
		if len(c.Accounts) > 0 || c.NAS || c.All {
			fn(c)
		}
	})
}

// WatchChanges tells fn of each committed change to accounts or NAS
// clients, when the store can tell of them (see the function
// WatchChanges).
func (d *Directory) WatchChanges(ctx context.Context, fn func(Changes)) (ok bool, err error) {
	return WatchChanges(ctx, d.store, fn)
}
