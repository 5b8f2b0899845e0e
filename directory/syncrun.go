package directory

import "time"

// SyncRun records one MIS sync or lifecycle job run with its counts.
type SyncRun struct {
	ID         int64
	Kind       string // sync, leavers, purge
	Source     string // oneroster:/path, csv:/path
	StartedAt  time.Time
	FinishedAt time.Time
	Applied    bool // false for a plan only
	Counts     map[string]int
	Rows       int // rows read from the source
	Watermark  string
	Actor      string
}
