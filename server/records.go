package server

import "keystage.dev/keystage/directory"

// Records keeps the sign-ins' operational records (the lockout's counters
// and familiar sources, the last uses) in memory and writes them in
// batches, off the requests' way (directory.Directory.RunRecords).
func Records(d *directory.Directory) *Frontend {
	return &Frontend{Name: "sign-in records", Serve: d.RunRecords}
}
