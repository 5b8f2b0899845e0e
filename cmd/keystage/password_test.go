package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/passwords"
)

func TestPasswordCheck(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, stdin string
		args        []string
		code        int
		want        []string
	}{
		{"passes", "Kestrel-Harbour-47\n", []string{"--user", "jbloggs"}, 0, []string{"OK"}},
		{"every rule at once", "jbl\n", []string{"--user", "jbloggs"}, 1, []string{"[too-short]", "[classes]", "[username]"}},
		{"decorated word", "Football1!\n", []string{"--user", "jbloggs"}, 1, []string{"[dictionary]"}},
		{"names from flags", "Zoeconnor-88x\n", []string{"--user", "26zoconnor", "--given", "Zoë", "--family", "O'Connor"}, 1, []string{"[username]"}},
		{"gentler policy", "tiger7\n", []string{"--user", "26jdoe", "--policy", "pupil-ks1"}, 1, []string{"[dictionary]"}},
		{"unknown policy", "x\n", []string{"--user", "a", "--policy", "nope"}, 2, nil},
		{"empty input", "", []string{"--user", "a"}, 2, nil}, // a usage mistake, exit 2 as everywhere
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--data", dir, "password", "check"}, c.args...)
			code, out, errOut := keystage(t, c.stdin, args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
			if strings.Contains(out+errOut, strings.TrimSpace(c.stdin)) && c.stdin != "" && c.code != 2 {
				t.Errorf("the candidate was echoed:\n%s%s", out, errOut)
			}
		})
	}
}

func TestPasswordCheckUsesTheAccount(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "add", "--username", "mpatel", "--role", "staff", "--given", "Meera", "--family", "Patel"); code != 0 {
		t.Fatal(errOut)
	}
	// Names come from the stored account, not the (absent) flags.
	code, out, _ := keystage(t, "Meera-Lantern-83\n", "--data", dir, "password", "check", "--user", "mpatel")
	if code != 1 || !strings.Contains(out, "[name]") {
		t.Fatalf("stored given name not used: %d\n%s", code, out)
	}
}

func TestKeysRotate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	before, err := os.ReadFile(filepath.Join(dir, "keystage.keys"))
	if err != nil {
		t.Fatal(err)
	}
	oldRing, err := passwords.ParseKeyFile(before)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := keystage(t, "", "--data", dir, "keys", "rotate")
	if code != 0 || !strings.Contains(out, "331 secret(s) re-sealed") { // 330 Wi-Fi credentials and the NAS secret
		t.Fatalf("rotate: %d %s %s", code, out, errOut)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "keystage.keys"))
	ring, err := passwords.ParseKeyFile(after)
	if err != nil {
		t.Fatal(err)
	}
	if ring.CurrentID() == oldRing.CurrentID() || len(ring.IDs()) != 2 {
		t.Fatalf("keys after rotation: %v (was %s)", ring.IDs(), oldRing.CurrentID())
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: filepath.Join(dir, "keystage.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nas, _ := s.NASClients(ctx)
	if got, err := ring.Open(nas[0].Secret, []byte(directory.SealNAS)); err != nil || string(got) != demoNASSecret || nas[0].KeyID != ring.CurrentID() {
		t.Errorf("NAS secret after rotation: %q %v key %s", got, err, nas[0].KeyID)
	}
	a, _ := s.ListAccounts(ctx, directory.AccountQuery{Limit: 1})
	creds, _ := s.Credentials(ctx, a[0].ID, directory.CredWiFi)
	if id, _ := passwords.SealedKeyID(creds[0].Secret); id != ring.CurrentID() {
		t.Errorf("Wi-Fi credential still sealed under %s", id)
	}
	// A second rotation re-seals everything again, from the second key.
	if code, out, _ := keystage(t, "", "--data", dir, "keys", "rotate"); code != 0 || !strings.Contains(out, "331 secret(s)") {
		t.Errorf("second rotation: %s", out)
	}
}
