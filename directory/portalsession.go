package directory

import "time"

// PortalSession is a sign-in session of the web portal, kept in the store
// so that every node shares it. ID is the SHA-256 (hex) of the token the
// browser holds, never the token itself.
type PortalSession struct {
	ID        string
	AccountID int64 // 0 before sign-in (a passkey ceremony in progress)
	CreatedAt time.Time
	SeenAt    time.Time
	ExpiresAt time.Time
	// Passkey records that the session was signed in with a passkey, which
	// staff roles may require.
	Passkey   bool
	Address   string
	UserAgent string
	// Data is the portal's own state for the session (a WebAuthn challenge
	// in progress, a one-time notice), opaque to the store.
	Data string
}
