package directory

import "time"

// CredentialKind is what a credential is for.
type CredentialKind string

// The kinds of credential.
const (
	// CredPassword is the login password: Secret holds its hash (argon2id
	// PHC, or an imported {SSHA}, {CRYPT} or bcrypt hash).
	CredPassword CredentialKind = "password"
	// CredWiFi is the person's own Wi-Fi credential: Secret holds it sealed
	// (with its NT hash) under the keyring, since MS-CHAPv2 needs both.
	CredWiFi CredentialKind = "wifi"
	// CredPasskey is a WebAuthn credential: Secret holds the JSON of the
	// public credential, Name what the person called it.
	CredPasskey CredentialKind = "passkey"
)

// Additional data that binds a sealed secret to its purpose, so that a
// sealed value cannot be moved from one kind of row to another.
const (
	SealWiFi = "keystage:wifi"
	SealNAS  = "keystage:nas"
)

// Credential is one credential of an account. A password or Wi-Fi credential
// is replaced by revoking the old one and adding a new one, so that history
// (the password-reuse rule, the access register) is kept.
type Credential struct {
	ID        int64
	AccountID int64
	Kind      CredentialKind
	Name      string // passkeys: the person's label
	Secret    string // never logged, exported or put in an audit event
	KeyID     string // for sealed secrets: the key they are sealed under
	CreatedAt time.Time
	ExpiresAt time.Time // zero: does not expire
	RevokedAt time.Time // zero: in force
	LastUsed  time.Time
}

// Live reports whether c may be used at t.
func (c Credential) Live(t time.Time) bool {
	if !c.RevokedAt.IsZero() && !t.Before(c.RevokedAt) {
		return false
	}
	return c.ExpiresAt.IsZero() || t.Before(c.ExpiresAt)
}
