package directory

import "context"

// JobLocker is implemented by stores that can hold a named lock across every
// node that shares the database (a PostgreSQL advisory lock), so that a
// scheduled job (the MIS sync, the leaver job) runs on one node at a time.
// Find it with a type assertion on Store; a store without it is used by one
// process only, and needs no lock.
type JobLocker interface {
	// TryJobLock takes the lock named name if no node holds it. ok is false
	// when another node holds it; otherwise release gives it back (and is
	// safe to call more than once). The lock is also released if this
	// process dies.
	TryJobLock(ctx context.Context, name string) (release func(), ok bool, err error)
}
