package directory_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/passwords"
)

// fixture is a directory on a fresh SQLite store with a fake clock.
type fixture struct {
	d   *directory.Directory
	s   directory.Store
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	keys, err := passwords.GenerateKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := passwords.ParseKeyFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, now: time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)}
	// A cheap argon2id cost keeps the tests quick; the cost is a setting.
	h := &passwords.Hasher{Params: passwords.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}
	f.d = directory.New(s, directory.Config{Hasher: h, Sealer: ring, Now: func() time.Time { return f.now }})
	return f
}

func (f *fixture) account(t *testing.T, a directory.Account, password string) directory.Account {
	t.Helper()
	ctx := context.Background()
	if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "account.create", Target: a.Username})
	}); err != nil {
		t.Fatal(err)
	}
	if password != "" {
		if err := f.d.SetPassword(ctx, "test", a, password); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func staff(name string) directory.Account {
	return directory.Account{Username: name, Role: directory.RoleStaff, GivenName: "Jo", FamilyName: "Bloggs"}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.account(t, staff("jbloggs"), "Kestrel-Harbour-47")

	if a, err := f.d.Authenticate(ctx, "jbloggs", "Kestrel-Harbour-47", directory.ServiceLDAP, directory.Origin{ID: "ldap:192.0.2.1"}); err != nil || a.Username != "jbloggs" {
		t.Fatalf("good password: %v", err)
	}
	if _, err := f.d.Authenticate(ctx, "jbloggs", "wrong", directory.ServiceLDAP, directory.Origin{ID: "ldap:192.0.2.1"}); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := f.d.Authenticate(ctx, "nobody", "Kestrel-Harbour-47", directory.ServiceLDAP, directory.Origin{ID: "ldap:192.0.2.1"}); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("unknown user: %v", err)
	}
	last, err := f.s.LastUse(ctx, mustGet(t, f.s, "jbloggs").ID)
	if err != nil || !last[directory.ServiceLDAP].Equal(f.now) {
		t.Errorf("use not noted: %v %v", last, err)
	}
}

func mustGet(t *testing.T, s directory.Store, name string) directory.Account {
	t.Helper()
	a, err := s.AccountByUsername(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthenticateGateRefusal(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := staff("leaver")
	a.LeaveDate = time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC)
	f.account(t, a, "Kestrel-Harbour-47")
	_, err := f.d.Authenticate(ctx, "leaver", "Kestrel-Harbour-47", directory.ServiceLDAP, directory.Origin{})
	var refused *directory.RefusedError
	if !errors.As(err, &refused) || refused.Decision.Reason != directory.ReasonLeft {
		t.Fatalf("leaver: %v", err)
	}
	// A wrong password for a leaver says nothing about the account.
	if _, err := f.d.Authenticate(ctx, "leaver", "nope", directory.ServiceLDAP, directory.Origin{}); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("wrong password of a leaver: %v", err)
	}
}

func TestImportedHashUpgraded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("imported"), "")
	// An {SSHA} hash as an old OpenLDAP directory held it.
	salt := []byte("saltsalt")
	sum := sha1.Sum(append([]byte("Kestrel-Harbour-47"), salt...))
	ssha := "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
	if err := f.s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: ssha}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "password.import", Target: a.Username})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Authenticate(ctx, "imported", "Kestrel-Harbour-47", directory.ServiceLDAP, directory.Origin{}); err != nil {
		t.Fatalf("imported {SSHA}: %v", err)
	}
	creds, _ := f.s.Credentials(ctx, a.ID, directory.CredPassword)
	if len(creds) != 1 || creds[0].Secret[:9] != "$argon2id" {
		t.Fatalf("hash not upgraded: %v", creds[0].Secret[:10])
	}
	if _, err := f.d.Authenticate(ctx, "imported", "Kestrel-Harbour-47", directory.ServiceLDAP, directory.Origin{}); err != nil {
		t.Fatalf("after upgrade: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("changer"), "Kestrel-Harbour-47")
	vs, err := f.d.ChangePassword(ctx, "user:changer", a, "changer1")
	if err != nil || len(vs) == 0 {
		t.Fatalf("weak password accepted: %v %v", vs, err)
	}
	codes := map[string]bool{}
	for _, v := range vs {
		codes[v.Code] = true
		if v.Message == "" {
			t.Errorf("violation %s has no message", v.Code)
		}
	}
	if !codes["username"] {
		t.Errorf("username rule not reported: %v", vs)
	}
	if _, err := f.d.Authenticate(ctx, "changer", "Kestrel-Harbour-47", directory.ServiceLDAP, directory.Origin{}); err != nil {
		t.Fatalf("a refused change altered the password: %v", err)
	}
	if vs, err := f.d.ChangePassword(ctx, "user:changer", a, "Cobalt-Lantern-83"); err != nil || len(vs) > 0 {
		t.Fatalf("good password refused: %v %v", vs, err)
	}
	if _, err := f.d.Authenticate(ctx, "changer", "Cobalt-Lantern-83", directory.ServiceLDAP, directory.Origin{}); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := f.d.Authenticate(ctx, "changer", "Kestrel-Harbour-47", directory.ServiceLDAP, directory.Origin{}); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("old password still works: %v", err)
	}
	vs, _ = f.d.ChangePassword(ctx, "user:changer", a, "Kestrel-Harbour-47")
	reused := false
	for _, v := range vs {
		reused = reused || v.Code == "reused"
	}
	if !reused {
		t.Errorf("an earlier password was accepted again: %v", vs)
	}
}

func TestWiFiCredential(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.account(t, staff("wifi"), "")
	if _, err := f.d.WiFiSecret(ctx, a); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("no credential yet: %v", err)
	}
	first, err := f.d.IssueWiFi(ctx, "cli:tech", a)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.d.WiFiSecret(ctx, a); err != nil || got != first {
		t.Fatalf("secret = %q, %v; want the issued one", got, err)
	}
	f.now = f.now.Add(time.Minute)
	second, err := f.d.IssueWiFi(ctx, "user:wifi", a)
	if err != nil || second == first {
		t.Fatalf("renewal: %q %v", second, err)
	}
	if got, _ := f.d.WiFiSecret(ctx, a); got != second {
		t.Errorf("after renewal the old credential is still the one in force")
	}
	creds, _ := f.s.Credentials(ctx, a.ID, directory.CredWiFi)
	if len(creds) != 2 || creds[1].RevokedAt.IsZero() || creds[0].Secret == second {
		t.Errorf("credentials: old not revoked, or stored in clear: %+v", creds)
	}
	f.now = f.now.Add(time.Minute)
	if err := f.d.RevokeWiFi(ctx, "cli:tech", a); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.WiFiSecret(ctx, a); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("after revoke: %v", err)
	}
	events, _ := f.s.AuditEvents(ctx, 0, 100)
	for _, e := range events {
		for _, s := range []string{first, second} {
			if strings.Contains(string(e.After), s) || strings.Contains(string(e.Before), s) {
				t.Errorf("audit event %s holds the Wi-Fi secret", e.Action)
			}
		}
	}
}
