package passwords

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID of clock_gettime(2), which
// the syscall package does not name. (getrusage's RUSAGE_THREAD counts in
// scheduler ticks, 4 ms here: too coarse.)
const clockThreadCPUTime = 3

// threadCPU is the CPU time the calling OS thread has used, or false. Unlike
// the wall clock it does not count time spent waiting for a core, which on
// the shared benchmark machine dominates the tail.
func threadCPU() (time.Duration, bool) {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
