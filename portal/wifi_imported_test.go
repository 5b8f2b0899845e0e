package portal_test

import (
	"context"
	"keystage.dev/keystage/audit"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/portal/portaltest"
)

// A Wi-Fi credential taken over from Active Directory's NT hash
// (keystage account import --wifi-from-nt-hash) has no password to show:
// the page says the Wi-Fi still takes the old network password and offers
// one of their own, which replaces it without a confirmation.
func TestWiFiImportedNTHash(t *testing.T) {
	srv := portaltest.Start(t, portaltest.Options{})
	ctx := context.Background()
	teacher := srv.Accounts[portaltest.Teacher]
	sealed, keyID, err := srv.Directory.SealChecked(ctx, []byte(directory.WiFiNTCredential(passwords.NTHash("Old-Dom41n-Pass"))), []byte(directory.SealWiFi))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddCredential(ctx, &directory.Credential{AccountID: teacher.ID, Kind: directory.CredWiFi, Secret: sealed, KeyID: keyID, CreatedAt: srv.Directory.Now()}); err != nil {
			return err
		}
		return srv.Directory.Record(ctx, tx, "test", audit.ActionWiFiIssue, audit.AccountTarget(teacher.Username), nil, nil)
	}); err != nil {
		t.Fatal(err)
	}
	b := mustSignIn(t, srv, portaltest.Teacher)
	p := b.get("/wifi")
	if !strings.Contains(p.body, "the password you used on the old school network") || strings.Contains(p.body, "nt-hash") || strings.Contains(p.body, "wifi-secret") {
		t.Errorf("Wi-Fi page with an imported NT hash: %s", p.body)
	}
	p = b.post("/wifi/renew", nil)
	m := secretRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		t.Fatalf("renew: %d %s", p.status, p.body)
	}
	if got, err := srv.Directory.WiFiSecret(ctx, teacher); err != nil || got != m[1] {
		t.Fatalf("the new credential is not the one in force: %v", err)
	}
}
