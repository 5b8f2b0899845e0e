//go:build !linux

package passwords

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }
