package webfilter

import (
	"context"
	"time"

	"keystage.dev/keystage/directory"
)

// InternetSuspendedGroup is added to the groups announced for a person
// whose internet access is suspended (the "internet" scope of a graded
// sanction) when they sign in at a desktop: LDAP still lets them in, so
// the filter is told, and its policy for this group (or a Filter-Id mapped
// from it) takes the internet away on that desktop.
const InternetSuspendedGroup = "keystage-internet-suspended"

// suspensionReader is what the announcer asks, when the directory has it
// (directory.Store does), about a person's suspensions.
type suspensionReader interface {
	Suspensions(ctx context.Context, accountID int64) ([]directory.Suspension, error)
}

// internetSuspended reports whether a suspension in force at t takes a's
// internet away.
func (n *announcer) internetSuspended(ctx context.Context, a directory.Account, t time.Time) bool {
	sr, ok := n.dir.(suspensionReader)
	if !ok {
		return false
	}
	sus, err := sr.Suspensions(ctx, a.ID)
	if err != nil {
		// Announce without the mark rather than not at all; the filter
		// still knows who is there.
		n.f.log.Warn("web filter: reading suspensions for an LDAP announcement", "user", a.Username, "err", err)
		return false
	}
	for _, x := range sus {
		if x.ActiveAt(t) && x.TakesInternet() {
			return true
		}
	}
	return false
}
