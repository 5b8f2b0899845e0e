package directory

import "time"

// SetLockoutWall sets the clock by which the lockout judges whether its
// counters in memory are fresh, so that a test can age them at once.
func SetLockoutWall(l *Lockout, wall func() time.Time) {
	st := l.state()
	st.mu.Lock()
	st.mem2.wall = wall
	st.mu.Unlock()
}

// ViewSlots is how many account slots the view's slab has, used or free.
func ViewSlots(v *View) int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.acc.slots)
}
