package directory

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/passwords"
)

// Guest is a visitor's access that a member of staff sponsors.
type Guest struct {
	// Account is the guest's account as the sponsor described it (names,
	// start and leave dates); its username is chosen by IssueGuest.
	Account Account
	Sponsor string
	Purpose string
	// ExpiresAt ends the portal password and the Wi-Fi credential (the
	// leave date closes the account at the end of that day at the latest).
	ExpiresAt time.Time
}

// IssuedGuest is what a sponsor hands the visitor, once: the account made
// and its two secrets in clear.
type IssuedGuest struct {
	Account Account
	Login   string // the portal password
	WiFi    string
}

// IssueGuest makes a guest account in one transaction: the account, a
// portal password and a Wi-Fi credential, both ending at g.ExpiresAt, its
// membership of the "guests" group when there is one, and the audit event
// naming the sponsor. The guest signs the community AUP on first sign-in:
// the gate keeps the Wi-Fi closed until then.
func (d *Directory) IssueGuest(ctx context.Context, actor string, g Guest) (IssuedGuest, error) {
	a := g.Account
	pol := d.Policy(a)
	login, err := passwords.GenerateWiFi(pol)
	if err != nil {
		return IssuedGuest{}, err
	}
	wifi, err := passwords.GenerateWiFi(pol)
	if err != nil {
		return IssuedGuest{}, err
	}
	hash, err := d.hasher.Hash(login)
	if err != nil {
		return IssuedGuest{}, err
	}
	sealed, keyID, err := d.SealChecked(ctx, []byte(wifi), []byte(SealWiFi))
	if err != nil {
		return IssuedGuest{}, err
	}
	now := d.Now()
	err = d.store.Update(ctx, func(ctx context.Context, tx Tx) error {
		if a.Username, err = guestUsername(ctx, tx, now); err != nil {
			return err
		}
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &Credential{AccountID: a.ID, Kind: CredPassword, Secret: hash,
			CreatedAt: now, ExpiresAt: g.ExpiresAt}); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &Credential{AccountID: a.ID, Kind: CredWiFi, Secret: sealed,
			KeyID: keyID, CreatedAt: now, ExpiresAt: g.ExpiresAt}); err != nil {
			return err
		}
		if grp, err := tx.GroupByName(ctx, "guests"); err == nil {
			if err := tx.AddMember(ctx, grp.ID, a.ID); err != nil {
				return err
			}
		}
		return d.Record(ctx, tx, actor, audit.ActionGuestCreate, audit.AccountTarget(a.Username), nil, map[string]any{
			"account": a.Snapshot(), "sponsor": g.Sponsor, "purpose": g.Purpose, "expires_at": g.ExpiresAt})
	})
	if err != nil {
		return IssuedGuest{}, err
	}
	return IssuedGuest{Account: a, Login: login, WiFi: wifi}, nil
}

// guestUsername is "guest-" and six random digits, retried until free.
func guestUsername(ctx context.Context, tx Tx, now time.Time) (string, error) {
	for range 20 {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", err
		}
		u := fmt.Sprintf("guest-%06d", n.Int64())
		taken, err := tx.UsernameTaken(ctx, u, now.AddDate(-1, 0, 0))
		if err != nil {
			return "", err
		}
		if !taken {
			return u, nil
		}
	}
	return "", fmt.Errorf("no free guest username after 20 tries")
}
