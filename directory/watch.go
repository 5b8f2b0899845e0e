package directory

import "context"

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
