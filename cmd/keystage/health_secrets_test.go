package main

import (
	"context"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/server"
)

func testRing(t *testing.T) *passwords.Keyring {
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

// /healthz says so when the node's key file cannot open the store's
// secrets: another node rotated the keys, say, and this one was not given
// the new key file.
func TestHealthReportsSecretsThatCannotBeOpened(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	theirs, ours := testRing(t), testRing(t)
	sealed, err := theirs.Seal([]byte("a-long-random-shared-secret-7Q"), []byte(directory.SealNAS))
	if err != nil {
		t.Fatal(err)
	}
	other := directory.New(s, directory.Config{})
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		n := directory.NASClient{Name: "hall-ap", Addresses: mustPrefixes(t, "127.0.0.1"), Secret: sealed, KeyID: theirs.CurrentID()}
		if err := tx.PutNASClient(ctx, &n); err != nil {
			return err
		}
		return other.Record(ctx, tx, "test", "nas.add", "nas:hall-ap", nil, nil)
	}); err != nil {
		t.Fatal(err)
	}
	serve := func(ring *passwords.Keyring) string {
		cfg := defaults()
		cfg.Metrics.Listen = "127.0.0.1:0"
		f, err := server.MetricsFrontend(cfg.Metrics.Listen, s, directory.New(s, directory.Config{Sealer: ring}), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f.Serve(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return "http://" + f.Addrs[0] + "/healthz"
	}
	code, body := httpGet(t, serve(ours))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, theirs.CurrentID()) {
		t.Errorf("/healthz with another key file: %d %q, want 503 naming key %s", code, body, theirs.CurrentID())
	}
	if code, body := httpGet(t, serve(theirs)); code != http.StatusOK {
		t.Errorf("/healthz with the right key file: %d %q", code, body)
	}
}

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := directory.ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
