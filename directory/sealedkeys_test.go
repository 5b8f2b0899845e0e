package directory_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
)

func newRing(t *testing.T) *passwords.Keyring {
	t.Helper()
	data, err := passwords.GenerateKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	k, err := passwords.ParseKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A key file that is not the one the store's secrets were sealed with is
// named for what it lacks, and cannot seal a credential the other nodes
// could not open.
func TestCheckSealerRefusesAnotherKeyFile(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// Any key file does for a store with no sealed secret.
	if err := directory.CheckSealer(ctx, f.s, newRing(t)); err != nil {
		t.Fatalf("empty store: %v", err)
	}
	a := f.account(t, staff("jbloggs"), "")
	if _, err := f.d.IssueWiFi(ctx, "test", a); err != nil {
		t.Fatal(err)
	}
	right := f.d.Sealer().(*passwords.Keyring)
	if err := directory.CheckSealer(ctx, f.s, right); err != nil {
		t.Errorf("the key file that sealed them: %v", err)
	}
	// A rotated key file keeps the old key: still fine.
	rotated, err := right.WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := directory.CheckSealer(ctx, f.s, rotated); err != nil {
		t.Errorf("rotated key file: %v", err)
	}

	other := newRing(t)
	err = directory.CheckSealer(ctx, f.s, other)
	var mis *directory.SealerMismatchError
	if !errors.As(err, &mis) || !slices.Equal(mis.Missing, []string{right.CurrentID()}) || mis.Secrets != 1 {
		t.Fatalf("another key file: %v, want it to name missing key %s", err, right.CurrentID())
	}
	// Same key id, other material: named as wrong, not missing.
	forged, err := passwords.NewKeyring(right.CurrentID(), map[string][]byte{right.CurrentID(): make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if err := directory.CheckSealer(ctx, f.s, forged); !errors.As(err, &mis) || !slices.Equal(mis.Wrong, []string{right.CurrentID()}) {
		t.Errorf("same id, other key: %v", err)
	}

	withOther := directory.New(f.s, directory.Config{Hasher: f.d.Hasher(), Sealer: other, Now: f.d.Now})
	if _, err := withOther.IssueWiFi(ctx, "test", a); !errors.As(err, &mis) {
		t.Errorf("issuing under another key file: %v, want a refusal", err)
	}
	if s, err := f.d.WiFiSecret(ctx, a); err != nil || s == "" {
		t.Errorf("the credential issued before is still the live one: %q %v", s, err)
	}
}
