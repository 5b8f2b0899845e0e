package directory

import (
	"context"
	"fmt"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/passwords"
)

// IssueWiFi gives a a new Wi-Fi credential, generated to the policy of its
// role and sealed at rest, and revokes the ones before it (their sessions
// are not ended here: a renewal is the person's own choice). It returns
// the credential in clear, once, to show the person.
func (d *Directory) IssueWiFi(ctx context.Context, actor string, a Account) (string, error) {
	secret, err := passwords.GenerateWiFi(d.Policy(a))
	if err != nil {
		return "", err
	}
	// A keyring that cannot open what the store holds would seal a
	// credential the other nodes cannot open: their RADIUS would drop the
	// person's requests without a word.
	sealed, keyID, err := d.SealChecked(ctx, []byte(secret), []byte(SealWiFi))
	if err != nil {
		return "", fmt.Errorf("issue Wi-Fi credential for %s: %w", a.Username, err)
	}
	now := d.Now()
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := RevokeWiFiCredentials(ctx, tx, a.ID, d.Now()); err != nil {
			return err
		}
		c := Credential{AccountID: a.ID, Kind: CredWiFi, Secret: sealed, KeyID: keyID, CreatedAt: now}
		if err := tx.AddCredential(ctx, &c); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionWiFiIssue, audit.AccountTarget(a.Username), nil, map[string]any{"credential_id": c.ID, "key_id": c.KeyID})
	})
	if err != nil {
		return "", fmt.Errorf("issue Wi-Fi credential for %s: %w", a.Username, err)
	}
	return secret, nil
}

// RevokeWiFi ends a's Wi-Fi credentials.
func (d *Directory) RevokeWiFi(ctx context.Context, actor string, a Account) error {
	return d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if err := RevokeWiFiCredentials(ctx, tx, a.ID, d.Now()); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionWiFiRevoke, audit.AccountTarget(a.Username), nil, nil)
	})
}

// RevokeWiFiCredentials ends, at t, every Wi-Fi credential of an account
// still in force, inside tx (a leaver's, in the transaction that disables
// them, so a RADIUS node that reloads the account sees both).
func RevokeWiFiCredentials(ctx context.Context, tx Tx, accountID int64, t time.Time) error {
	creds, err := tx.Credentials(ctx, accountID, CredWiFi)
	if err != nil {
		return err
	}
	for _, c := range creds {
		if c.RevokedAt.IsZero() {
			if _, err := tx.UpdateCredential(ctx, c.ID, func(c *Credential) error { c.RevokedAt = t; return nil }); err != nil {
				return err
			}
		}
	}
	return nil
}

// WiFiSecret opens a's Wi-Fi credential in force now; ErrNotFound when it
// has none.
func (d *Directory) WiFiSecret(ctx context.Context, a Account) (string, error) {
	creds, err := d.store.Credentials(ctx, a.ID, CredWiFi)
	if err != nil {
		return "", err
	}
	now := d.Now()
	for _, c := range creds {
		if !c.Live(now) {
			continue
		}
		b, err := d.sealer.Open(c.Secret, []byte(SealWiFi))
		if err != nil {
			return "", fmt.Errorf("Wi-Fi credential of %s: %w", a.Username, err)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("Wi-Fi credential of %s: %w", a.Username, ErrNotFound)
}

// EndAccess tells the AccessEnded hooks that a has lost access (disabled,
// suspended, left), after the change has committed: RADIUS ends live
// sessions, caches forget the account.
func (d *Directory) EndAccess(ctx context.Context, a Account) {
	d.mu.Lock()
	hooks := d.accessEnded
	d.mu.Unlock()
	for _, f := range hooks {
		f(ctx, a)
	}
}
