package directory

import "time"

// SyncRefusal is a row of an MIS export that the sync could not take,
// queued until a later export fixes it.
type SyncRefusal struct {
	MISID     string // empty when the row's id could not be read
	Source    string // the export it came from: oneroster:/path, csv:/path
	File      string
	Line      int
	Reason    string
	FirstSeen time.Time // the first run that refused it
	LastSeen  time.Time // the latest run that refused it
}
