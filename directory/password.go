package directory

import (
	"context"
	"fmt"
	"strconv"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/passwords"
)

// PolicyName is the password policy an account follows by default: staff
// and service accounts the staff policy, pupils by key stage, guests the
// guest policy.
func PolicyName(a Account) string {
	switch a.Role {
	case RolePupil:
		if a.YearGroup == "R" || a.YearGroup == "N" {
			return "pupil-ks1"
		}
		if n, err := strconv.Atoi(a.YearGroup); err == nil {
			switch {
			case n <= 2:
				return "pupil-ks1"
			case n <= 6:
				return "pupil-ks2"
			}
		}
		return "staff"
	case RoleGuest:
		return "guest"
	}
	return "staff"
}

// Policy is the password policy for a.
func (d *Directory) Policy(a Account) passwords.Policy {
	name := PolicyName(a)
	if d.policyFor != nil {
		name = d.policyFor(a)
	}
	if p, ok := d.policies[name]; ok {
		return p
	}
	return passwords.DefaultPolicies()["staff"]
}

// CheckPassword is the policy's verdict on a candidate for a, history
// included; empty means it passes.
func (d *Directory) CheckPassword(ctx context.Context, a Account, candidate string) ([]passwords.Violation, error) {
	p, err := d.PolicyFor(ctx, a)
	if err != nil {
		return nil, err
	}
	vs := p.Check(candidate, passwords.Person{Username: a.Username, GivenName: a.GivenName, FamilyName: a.FamilyName})
	if len(vs) > 0 || p.History <= 0 || a.ID == 0 {
		return vs, nil
	}
	creds, err := d.store.Credentials(ctx, a.ID, CredPassword)
	if err != nil {
		return nil, err
	}
	prev := make([]string, 0, len(creds))
	for _, c := range creds {
		prev = append(prev, c.Secret)
	}
	return p.CheckHistory(candidate, prev, d.hasher), nil
}

// ChangePassword sets a's login password when it passes the policy; when it
// does not, nothing changes and every broken rule is returned. The old
// password is revoked (kept for the reuse rule), must-change is cleared, and
// the change is audited without the secret.
func (d *Directory) ChangePassword(ctx context.Context, actor string, a Account, newPassword string) ([]passwords.Violation, error) {
	vs, err := d.CheckPassword(ctx, a, newPassword)
	if err != nil || len(vs) > 0 {
		return vs, err
	}
	return nil, d.SetPassword(ctx, actor, a, newPassword)
}

// SetPassword stores a new login password without the policy check (for
// imports and the demo); ChangePassword is what people go through.
func (d *Directory) SetPassword(ctx context.Context, actor string, a Account, newPassword string) error {
	h, err := d.hasher.Hash(newPassword)
	if err != nil {
		return err
	}
	now := d.Now()
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
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
		c := Credential{AccountID: a.ID, Kind: CredPassword, Secret: h, CreatedAt: now}
		if err := tx.AddCredential(ctx, &c); err != nil {
			return err
		}
		if err := d.queueDownstreamPassword(ctx, tx, a, newPassword, false, now); err != nil {
			return err
		}
		if a.MustChangePassword {
			if _, err := tx.UpdateAccount(ctx, a.ID, func(x *Account) error { x.MustChangePassword = false; return nil }); err != nil {
				return err
			}
		}
		return d.Record(ctx, tx, actor, audit.ActionPasswordChange, audit.AccountTarget(a.Username), nil, map[string]any{"credential_id": c.ID})
	})
	if err != nil {
		return fmt.Errorf("set password of %s: %w", a.Username, err)
	}
	return nil
}
