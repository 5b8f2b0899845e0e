package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/passwords"
)

// A server's keyring follows keys rotate made by another process: told of
// the rotation by the store, it seals under the new key; and a secret
// sealed under a key it lacks makes it read the key file even untold.
func TestServerKeyringFollowsRotation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	db := filepath.Join(dir, "keystage.db")
	server, err := sqlstore.Open(ctx, sqlstore.Config{URL: db, Serve: true})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	command, err := sqlstore.Open(ctx, sqlstore.Config{URL: db})
	if err != nil {
		t.Fatal(err)
	}
	defer command.Close()

	keyFile := filepath.Join(dir, "keystage.keys")
	data, err := passwords.GenerateKeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := passwords.ParseKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	sealer := NewReloadingSealer(keyFile, server, slog.New(slog.DiscardHandler), ring)
	if err := sealer.Watch(ctx, server); err != nil {
		t.Fatal(err)
	}

	// Untold: a value sealed under a key only the file holds.
	rotated, err := ring.WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, rotated.KeyFile(), 0o600); err != nil {
		t.Fatal(err)
	}
	sealed, err := rotated.Seal([]byte("wifi-secret"), []byte(directory.SealWiFi))
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := sealer.Open(sealed, []byte(directory.SealWiFi)); err != nil || string(plain) != "wifi-secret" {
		t.Fatalf("a secret under the new key: %q %v", plain, err)
	}

	// Told: another process rotates again and records it.
	again, err := rotated.WithNewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, again.KeyFile(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := command.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		return tx.Record(ctx, &audit.Event{Actor: "cli", Action: "keys.rotate", Target: "keyring"})
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for sealer.CurrentID() != again.CurrentID() {
		if time.Now().After(deadline) {
			t.Fatalf("the server seals under %s after keys rotate made %s current", sealer.CurrentID(), again.CurrentID())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
