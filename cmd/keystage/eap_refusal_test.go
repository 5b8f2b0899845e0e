package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/server"
)

// A phone on PEAP-MSCHAPv2 (eapol_test, checking the demo CA and domain as
// Android does) is refused by keystage's own RADIUS server, with the reason,
// for a wrong Wi-Fi password, a leaver and a suspended pupil, each of whom
// the same server accepted before.
func TestEAPRefusalsThroughTheServer(t *testing.T) {
	needEapolTest(t)
	var ok, leaver, suspended wifiPerson
	f, _ := serveDemoRADIUS(t, func(ctx context.Context, d *directory.Directory) {
		picked := wifiPupils(t, ctx, d, 3)
		ok, leaver, suspended = picked[0], picked[1], picked[2]
		now := time.Now()
		if _, _, err := d.Disable(ctx, "test", leaver.username, "left"); err != nil {
			t.Fatal(err)
		}
		sa, err := d.Store().AccountByUsername(ctx, suspended.username)
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Suspend(ctx, "test", sa, directory.Suspension{From: now.Add(-time.Hour), Until: now.Add(72 * time.Hour), Reason: "test"})
		if err != nil {
			t.Fatal(err)
		}
	})
	run := eapolPEAP(t, f)
	if out := run(ok.username, ok.credential); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("%s with the right credential:\n%s", ok.username, tail(out, 30))
	}
	for _, tc := range []struct {
		name, user, password, reply string
	}{
		{"wrong password", ok.username, ok.credential + "x", "Wrong username or Wi-Fi password"},
		{"leaver", leaver.username, leaver.credential, "disabled"},
		{"suspended", suspended.username, suspended.credential, "suspended until"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := run(tc.user, tc.password)
			if strings.Contains(out, "\nSUCCESS") || !strings.Contains(out, "Access-Reject") {
				t.Fatalf("want Access-Reject:\n%s", tail(out, 40))
			}
			if !strings.Contains(out, tc.reply) {
				t.Errorf("Reply-Message does not say %q:\n%s", tc.reply, tail(out, 40))
			}
		})
	}
}

// needEapolTest skips without eapol_test, except in CI.
func needEapolTest(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("eapol_test")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("eapol_test is not installed: CI must install eapoltest")
		}
		t.Skip("eapol_test is not installed (apt-get install eapoltest)")
	}
	return bin
}

type wifiPerson struct{ username, credential string }

// wifiPupils picks n demo pupils whom the gate lets on the Wi-Fi now, with
// their Wi-Fi credentials.
func wifiPupils(t *testing.T, ctx context.Context, d *directory.Directory, n int) []wifiPerson {
	t.Helper()
	pupils, err := d.Store().ListAccounts(ctx, directory.AccountQuery{Role: directory.RolePupil, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var picked []wifiPerson
	for _, a := range pupils {
		if dec, err := d.Gate().Check(ctx, a, directory.ServiceWiFi, time.Now()); err != nil || !dec.Allow {
			continue
		}
		cred, err := d.WiFiSecret(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		picked = append(picked, wifiPerson{a.Username, cred})
		if len(picked) == n {
			return picked
		}
	}
	t.Fatalf("the demo school has %d pupils the gate lets on the Wi-Fi, want %d", len(picked), n)
	return nil
}

// eapolPEAP returns a function that runs eapol_test PEAP-MSCHAPv2 against
// the demo RADIUS frontend f as a person, checking the demo CA and domain as
// Android does, and returns what eapol_test printed.
func eapolPEAP(t *testing.T, f *server.Frontend) func(user, password string) string {
	t.Helper()
	bin := needEapolTest(t)
	var hint string
	for _, h := range f.Hints {
		if strings.HasPrefix(h, "eapol_test ") && strings.HasSuffix(h, "# peap-mschapv2") {
			hint = h
		}
	}
	m := regexp.MustCompile(`-c (\S+) -a (\S+) -p (\S+) -s (\S+)`).FindStringSubmatch(hint)
	if m == nil {
		t.Fatalf("no PEAP hint in %q", f.Hints)
	}
	template, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return func(user, password string) string {
		t.Helper()
		conf := regexp.MustCompile(`(?m)^\tidentity=.*$`).ReplaceAllLiteralString(string(template), "\tidentity=\""+user+"\"")
		conf = regexp.MustCompile(`(?m)^\tpassword=.*$`).ReplaceAllLiteralString(conf, "\tpassword=\""+password+"\"")
		path := filepath.Join(t.TempDir(), "peap.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(bin, "-c", path, "-a", m[2], "-p", m[3], "-s", m[4]).CombinedOutput()
		return string(out)
	}
}
