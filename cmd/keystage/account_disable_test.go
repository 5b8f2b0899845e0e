package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

func TestAccountDisable(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := keystage(t, "", "--data", dir, "account", "add", "--username", "jleaver", "--role", "staff"); code != 0 {
		t.Fatalf("add: %d %s", code, errOut)
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"no reason", []string{"account", "disable", "jleaver"}, 2, "", "--reason is needed"},
		{"no name", []string{"account", "disable", "--reason", "left"}, 2, "", "one username"},
		{"unknown", []string{"account", "disable", "nobody", "--reason", "left"}, 1, "", "keystage account list"},
		{"disables", []string{"account", "disable", "jleaver", "--reason", "left mid-term"}, 0, "disabled jleaver", ""},
		{"twice", []string{"account", "disable", "jleaver", "--reason", "again"}, 0, "already disabled", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := keystage(t, "", append([]string{"--data", dir}, c.args...)...)
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
				t.Fatalf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, c.code, out, c.out, errOut, c.err)
			}
		})
	}
	if _, out, _ := keystage(t, "", "--data", dir, "account", "show", "jleaver"); !strings.Contains(out, "disabled") || !strings.Contains(out, "left mid-term") {
		t.Errorf("account show after disable:\n%s", out)
	}
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: filepath.Join(dir, "keystage.db"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := s.AuditEvents(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	disables := 0
	for _, ev := range evs {
		if ev.Action == "account.disable" && ev.Target == "account:jleaver" {
			disables++
		}
	}
	if disables != 1 {
		t.Errorf("%d account.disable events, want 1 (a second disable changes nothing)", disables)
	}
	a, err := s.AccountByUsername(context.Background(), "jleaver")
	if err != nil || a.Status != directory.StatusDisabled || a.DisabledAt.IsZero() {
		t.Errorf("stored account: %+v %v", a, err)
	}
}
