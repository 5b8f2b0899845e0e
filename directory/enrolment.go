package directory

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/passwords"
)

// A passkey protects a powerful role only if a stolen password cannot
// plant one. Where the portal requires a passkey for a role, the first
// passkey of a person holding it needs a one-time enrolment code, issued by
// a technician in the portal or from the command line on the server, and
// recorded in the trail; further passkeys need a sign-in with an existing
// one.

// CredEnrolment is a one-time passkey enrolment code: Secret holds the
// SHA-256 (hex) of the code, never the code.
const CredEnrolment CredentialKind = "passkey-enrolment"

// EnrolmentTTL is how long an enrolment code may wait to be used.
const EnrolmentTTL = 24 * time.Hour

// ErrEnrolmentCode is a passkey enrolment code that is wrong, used or
// expired.
var ErrEnrolmentCode = errors.New("the passkey enrolment code is wrong, used or expired")

// EnrolmentCodeHash is what the store keeps of a code, and what a ceremony
// in progress carries: its SHA-256, after folding case and spaces.
func EnrolmentCodeHash(code string) string {
	code = strings.ToLower(strings.Join(strings.Fields(code), ""))
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// IssuePasskeyEnrolment gives a a new one-time passkey enrolment code,
// valid for EnrolmentTTL, and ends any code it had. The code is returned
// once, in clear, to hand to the person.
func (d *Directory) IssuePasskeyEnrolment(ctx context.Context, actor string, a Account) (code string, expires time.Time, err error) {
	if a.Status != StatusActive {
		return "", time.Time{}, fmt.Errorf("passkey enrolment for %s: %w", a.Username, invalid("The account is not active."))
	}
	if code, err = passwords.GenerateWiFi(passwords.Policy{}); err != nil {
		return "", time.Time{}, err
	}
	now := d.Now()
	expires = now.Add(EnrolmentTTL)
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := revokeEnrolments(ctx, tx, a.ID, now); err != nil {
			return err
		}
		c := Credential{AccountID: a.ID, Kind: CredEnrolment, Secret: EnrolmentCodeHash(code), CreatedAt: now, ExpiresAt: expires}
		if err := tx.AddCredential(ctx, &c); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionEnrolmentIssue, audit.AccountTarget(a.Username), nil,
			map[string]any{"credential_id": c.ID, "expires": expires.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("passkey enrolment for %s: %w", a.Username, err)
	}
	return code, expires, nil
}

// HasPasskeyEnrolment reports whether a holds a live enrolment code whose
// hash is codeHash.
func (d *Directory) HasPasskeyEnrolment(ctx context.Context, a Account, codeHash string) (bool, error) {
	c, err := findEnrolment(ctx, d.store, a.ID, codeHash, d.Now())
	return c != nil, err
}

// SpendPasskeyEnrolment ends a's live enrolment code whose hash is
// codeHash, inside tx (the transaction that adds the passkey), and records
// its use; ErrEnrolmentCode when there is none.
func (d *Directory) SpendPasskeyEnrolment(ctx context.Context, tx Tx, actor string, a Account, codeHash string) error {
	now := d.Now()
	c, err := findEnrolment(ctx, tx, a.ID, codeHash, now)
	if err != nil {
		return err
	}
	if c == nil {
		return ErrEnrolmentCode
	}
	if _, err := tx.UpdateCredential(ctx, c.ID, func(x *Credential) error { x.RevokedAt, x.LastUsed = now, now; return nil }); err != nil {
		return err
	}
	return d.Record(ctx, tx, actor, audit.ActionEnrolmentUse, audit.AccountTarget(a.Username), nil, map[string]any{"credential_id": c.ID})
}

type credentialReader interface {
	Credentials(ctx context.Context, accountID int64, kind CredentialKind) ([]Credential, error)
}

func findEnrolment(ctx context.Context, r credentialReader, accountID int64, codeHash string, now time.Time) (*Credential, error) {
	creds, err := r.Credentials(ctx, accountID, CredEnrolment)
	if err != nil {
		return nil, err
	}
	for i, c := range creds {
		if c.Live(now) && subtle.ConstantTimeCompare([]byte(c.Secret), []byte(codeHash)) == 1 {
			return &creds[i], nil
		}
	}
	return nil, nil
}

func revokeEnrolments(ctx context.Context, tx Tx, accountID int64, t time.Time) error {
	creds, err := tx.Credentials(ctx, accountID, CredEnrolment)
	if err != nil {
		return err
	}
	for _, c := range creds {
		if c.Live(t) {
			if _, err := tx.UpdateCredential(ctx, c.ID, func(c *Credential) error { c.RevokedAt = t; return nil }); err != nil {
				return err
			}
		}
	}
	return nil
}
