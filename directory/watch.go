package directory

import (
	"context"
	"strings"
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

// WatchAccounts watches s, if it is a Watcher, for changes to accounts:
// fn gets the usernames of each committed change that names any
// ("account:NAME"), or all set when the watcher may have missed changes.
// ok is false when s cannot tell of changes; the caller then relies on
// its timers alone.
func WatchAccounts(ctx context.Context, s Store, fn func(names []string, all bool)) (ok bool, err error) {
	w, ok := s.(Watcher)
	if !ok {
		return false, nil
	}
	return true, w.Watch(ctx, func(targets []string) {
		var names []string
		all := false
		for _, t := range targets {
			if name, ok := strings.CutPrefix(t, "account:"); ok {
				names = append(names, name)
			}
			all = all || t == AllTargets
		}
		if len(names) > 0 || all {
			fn(names, all)
		}
	})
}
