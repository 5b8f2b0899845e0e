package main

import (
	"context"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

// The demo's LDAP service account, granted people and groups, for the
// ldapsearch hint and for trying nslcd or SSSD against the demo.
const (
	demoLDAPService         = "demo-ldap"
	demoLDAPServicePassword = "Heron-Quartz-Ledger-38"
)

// seedDemoLDAPService stores the demo's service account.
func seedDemoLDAPService(ctx context.Context, d *directory.Directory, h *passwords.Hasher) error {
	hash, err := h.Hash(demoLDAPServicePassword)
	if err != nil {
		return err
	}
	return d.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		a := directory.Account{Username: demoLDAPService, Role: directory.RoleService, Source: directory.SourceManual,
			Status: directory.StatusActive, DisplayName: "Demo LDAP lookups (nslcd, SSSD, apps)"}
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: hash, CreatedAt: d.Now()}); err != nil {
			return err
		}
		return d.Record(ctx, tx, "demo", audit.ActionAccountCreate, audit.AccountTarget(a.Username), nil, a.Snapshot())
	})
}
