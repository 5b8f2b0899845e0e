package server

import "keystage.dev/keystage/directory"

// Records keeps the sign-ins' operational records (the lockout's counters
// and familiar sources, the last uses) in memory and writes them in
// batches, off the requests' way (directory.Directory.RunRecords).
func Records(d *directory.Directory) *Frontend {
	return &Frontend{Name: "sign-in records", Serve: d.RunRecords}
}

// View loads the in-memory read side of the hot paths and keeps it current
// (directory.View); until it has loaded, and whenever the change feed
// falls behind, reads go to the store.
func View(v *directory.View) *Frontend {
	return &Frontend{Name: "in-memory view", Serve: v.Run}
}
