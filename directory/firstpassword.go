package directory

import (
	"context"
	"errors"
	"fmt"
	"keystage.dev/keystage/audit"
	"time"

	"keystage.dev/keystage/passwords"
)

// DefaultFirstPasswordDays is how long an unused first password lasts when
// configuration does not say.
const DefaultFirstPasswordDays = 14

// ErrStillLeaver: Enable was asked for someone the MIS still has as a
// leaver, without force.
var ErrStillLeaver = errors.New("the MIS still has this person as a leaver")

// FirstPassword is a one-time password given to a person on a slip. The
// clear text lives only in this value: the store keeps its hash.
type FirstPassword struct {
	Account   Account
	Password  string
	ExpiresAt time.Time
}

// ConsentMissing reports whether a is a pupil who needs parental consent
// and has none in force: such a person is given no first password.
func (d *Directory) ConsentMissing(ctx context.Context, a Account) (bool, error) {
	if !d.gate.Policy.NeedsConsent(a) {
		return false, nil
	}
	now := d.Now()
	f, err := d.gate.Facts(ctx, a, ServicePortal, now)
	if err != nil {
		return false, err
	}
	return !consented(f.Documents, f.Consents, d.gate.Policy.consentAudience(), now), nil
}

// HasPassword reports whether a has a login password in force.
func (d *Directory) HasPassword(ctx context.Context, a Account) (bool, error) {
	creds, err := d.store.Credentials(ctx, a.ID, CredPassword)
	if err != nil {
		return false, err
	}
	now := d.Now()
	for _, c := range creds {
		if c.Live(now) {
			return true, nil
		}
	}
	return false, nil
}

// IssueFirstPassword gives a a new first password: one that passes a's own
// policy, has no look-alike characters, must be changed at first sign-in
// and ends after valid if unused. Any password in force is revoked. It is
// one transaction with its audit event ("password.issue", or
// "password.reset" when reset is set), which names the actor and never the
// password.
func (d *Directory) IssueFirstPassword(ctx context.Context, actor string, a Account, valid time.Duration, reset bool) (FirstPassword, error) {
	if valid <= 0 {
		valid = DefaultFirstPasswordDays * 24 * time.Hour
	}
	pol, err := d.PolicyFor(ctx, a)
	if err != nil {
		return FirstPassword{}, fmt.Errorf("first password for %s: %w", a.Username, err)
	}
	pw, err := passwords.FirstPassword(pol, passwords.Person{Username: a.Username, GivenName: a.GivenName, FamilyName: a.FamilyName})
	if err != nil {
		return FirstPassword{}, fmt.Errorf("first password for %s: %w", a.Username, err)
	}
	h, err := d.hasher.Hash(pw)
	if err != nil {
		return FirstPassword{}, err
	}
	action := audit.ActionPasswordIssue
	if reset {
		action = audit.ActionPasswordReset
	}
	now := d.Now()
	fp := FirstPassword{Password: pw, ExpiresAt: now.Add(valid)}
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := tx.Account(ctx, a.ID)
		if err != nil {
			return err
		}
		creds, err := tx.Credentials(ctx, a.ID, CredPassword)
		if err != nil {
			return err
		}
		for _, c := range creds {
			if c.RevokedAt.IsZero() {
				if _, err := tx.UpdateCredential(ctx, c.ID, func(c *Credential) error { c.RevokedAt = now; return nil }); err != nil {
					return err
				}
			}
		}
		c := Credential{AccountID: a.ID, Kind: CredPassword, Secret: h, CreatedAt: now, ExpiresAt: fp.ExpiresAt}
		if err := tx.AddCredential(ctx, &c); err != nil {
			return err
		}
		if err := d.queueDownstreamPassword(ctx, tx, cur, pw, true, now); err != nil {
			return err
		}
		if fp.Account, err = tx.UpdateAccount(ctx, a.ID, func(x *Account) error { x.MustChangePassword = true; return nil }); err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, action, audit.AccountTarget(cur.Username), nil,
			map[string]any{"credential_id": c.ID, "must_change": true, "expires_at": fp.ExpiresAt.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return FirstPassword{}, fmt.Errorf("first password for %s: %w", a.Username, err)
	}
	return fp, nil
}

// Unlock lifts the lockout's blocks on a's account: its familiar and
// unfamiliar counters, in the store and in this process. The counters are
// operational records written without audit events; the unlock itself is
// recorded with who did it.
func (d *Directory) Unlock(ctx context.Context, actor string, a Account) error {
	if err := d.lockout.Clear(ctx, a.Username); err != nil {
		return fmt.Errorf("unlock %s: %w", a.Username, err)
	}
	err := d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		return d.Record(ctx, tx, actor, audit.ActionAccountUnlock, audit.AccountTarget(a.Username), nil, nil)
	})
	if err != nil {
		return fmt.Errorf("unlock %s: %w", a.Username, err)
	}
	return nil
}

// Enable re-enables the disabled account named username, with a reason
// kept in the trail. Someone the MIS still has as a leaver (a leave date
// that has passed, from the MIS) is refused with ErrStillLeaver unless
// force is set; forced, the leave date is cleared, and the next MIS sync
// sets it again unless the MIS has changed. already is true, and nothing
// changes, when the account was active.
func (d *Directory) Enable(ctx context.Context, actor, username, reason string, force bool) (a Account, already bool, err error) {
	now := d.Now()
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		old, err := tx.AccountByUsername(ctx, username)
		if err != nil {
			return err
		}
		if old.Status != StatusDisabled {
			a, already = old, true
			return nil
		}
		leaver := old.Source == SourceMIS && !old.LeaveDate.IsZero() &&
			!now.Before(dayStart(old.LeaveDate, d.gate.Policy.loc()).AddDate(0, 0, 1))
		if leaver && !force {
			a = old
			return ErrStillLeaver
		}
		a, err = tx.UpdateAccount(ctx, old.ID, func(x *Account) error {
			x.Status, x.DisabledAt, x.DisableReason = StatusActive, time.Time{}, ""
			if leaver {
				x.LeaveDate = time.Time{}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return d.Record(ctx, tx, actor, audit.ActionAccountEnable, audit.AccountTarget(a.Username), old.Snapshot(),
			map[string]any{"account": a.Snapshot(), "reason": reason, "forced": leaver})
	})
	if err != nil {
		return a, false, fmt.Errorf("enable %s: %w", username, err)
	}
	return a, already, nil
}

// Skipped is a person given no first password, and why, in words for the
// person who asked.
type Skipped struct {
	Account Account
	Reason  string
}

// IssueFirstPasswords gives each of people a first password as
// IssueFirstPassword does, each in its own transaction, skipping (and
// saying why) a disabled account and a pupil without parental consent.
// An error stops the run: what was issued before it is returned.
func (d *Directory) IssueFirstPasswords(ctx context.Context, actor string, people []Account, valid time.Duration, reset bool) ([]FirstPassword, []Skipped, error) {
	var issued []FirstPassword
	var skipped []Skipped
	for _, a := range people {
		if a.Status == StatusDisabled {
			skipped = append(skipped, Skipped{a, "the account is disabled (keystage account enable " + a.Username + " --reason … first, if it should not be)"})
			continue
		}
		missing, err := d.ConsentMissing(ctx, a)
		if err != nil {
			return issued, skipped, err
		}
		if missing {
			skipped = append(skipped, Skipped{a, "no parental consent: record the signed permission form (keystage consent record " + a.Username + " …) first"})
			continue
		}
		fp, err := d.IssueFirstPassword(ctx, actor, a, valid, reset)
		if err != nil {
			return issued, skipped, err
		}
		issued = append(issued, fp)
	}
	return issued, skipped, nil
}
