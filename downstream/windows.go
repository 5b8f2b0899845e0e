package downstream

import (
	"time"

	"keystage.dev/keystage/directory"
)

// SuspensionDisablesWindows decides whether a suspension in force disables
// the person's Windows logins (their account in the downstream directory).
// A Windows login is the desktop login that Keystage answers over LDAP, so
// a suspension covering LDAP does: the whole facility, or the LDAP service
// by name. One of internet access only, of the Wi-Fi or of the portal
// leaves Windows logins alone.
func SuspensionDisablesWindows(s directory.Suspension) bool {
	return s.Covers(directory.ServiceLDAP)
}

// WindowsLogin is the gate for a downstream directory: whether a's
// account there is enabled at t, and why not. It is the gate's own answer
// on the account's life (disabled by hand or by the leaver job, not
// started, left, leaver grace included) and on the suspensions in force
// that SuspensionDisablesWindows says disable Windows logins. The AUP,
// consent and Wi-Fi credentials are not asked: a downstream directory
// cannot send a person to the portal to sign, so they stay the network's
// gate.
func WindowsLogin(p directory.GatePolicy, a directory.Account, suspensions []directory.Suspension, t time.Time) (bool, directory.Reason) {
	if d := p.Decide(directory.Facts{Account: a}, directory.ServicePortal, t); !d.Allow {
		return false, d.Reason
	}
	for _, s := range suspensions {
		if s.ActiveAt(t) && SuspensionDisablesWindows(s) {
			return false, directory.ReasonSuspended
		}
	}
	return true, directory.ReasonNone
}
