package passwords

import (
	"context"
	"runtime"
	"sync"

	"golang.org/x/sync/semaphore"
)

// The memory-hard hashes (argon2id, argon2i, yescrypt) take their memory
// for as long as they run: 19 MiB for a login at the default parameters.
// Every LDAP bind, portal sign-in and password change runs one, and a bind
// needs no account, so without a bound a pupil opening a few hundred
// connections and binding on each at once would make the server allocate
// gigabytes. They share one budget instead: a derivation waits (first
// come, first served) until its memory fits. With two hashes a core in
// flight the cores stay busy, so the budget costs no throughput: it only
// turns a burst into a queue.

// memoryBudget is the KiB the memory-hard hashes may hold at once.
var memoryBudget = func() int64 {
	b := int64(2*runtime.GOMAXPROCS(0)) * int64(DefaultArgon2Params().Memory)
	return max(b, 64<<10)
}()

var (
	memoryGate = semaphore.NewWeighted(memoryBudget)

	// memoryHeld and memoryPeak are the KiB held now and the most held
	// at once, for the tests.
	memoryMu   sync.Mutex
	memoryHeld int64
	memoryPeak int64
)

// MemoryBudget is the KiB the memory-hard hashes may hold at once, all
// together: two hashes at the default parameters for each CPU Go uses,
// and at least 64 MiB.
func MemoryBudget() int64 { return memoryBudget }

// withMemory runs f once kib KiB of the budget are free. A derivation
// larger than the whole budget (an imported hash with a high cost, within
// MaxArgon2Memory and MaxYescryptMemory) waits for all of it and runs
// alone.
func withMemory(kib uint64, f func()) {
	w := max(int64(min(kib, uint64(memoryBudget))), 1)
	// Acquire fails only when its context ends; this one never does.
	_ = memoryGate.Acquire(context.Background(), w)
	memoryMu.Lock()
	memoryHeld += w
	memoryPeak = max(memoryPeak, memoryHeld)
	memoryMu.Unlock()
	defer func() {
		memoryMu.Lock()
		memoryHeld -= w
		memoryMu.Unlock()
		memoryGate.Release(w)
	}()
	f()
}
