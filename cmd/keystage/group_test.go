package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
)

func TestGroupCommands(t *testing.T) {
	dir := t.TempDir()
	ks := func(args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, "", append([]string{"--data", dir}, args...)...)
	}
	if code, out, errOut := ks("migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	for _, u := range []string{"jtech", "jlead"} {
		if code, _, errOut := ks("account", "add", "--username", u, "--role", "staff"); code != 0 {
			t.Fatalf("account add %s: %s", u, errOut)
		}
	}
	// The command: a group that does not exist is named, with what to do.
	code, _, errOut := ks("account", "add", "--username", "techadmin", "--role", "staff", "--group", "portal-technicians")
	if code != 1 || !strings.Contains(errOut, "keystage group add portal-technicians") {
		t.Errorf("account add to a missing group: %d %s", code, errOut)
	}
	if code, out, errOut := ks("group", "add", "portal-technicians", "--description", "Portal technicians"); code != 0 || !strings.Contains(out, "created group portal-technicians") {
		t.Fatalf("group add: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("group", "add", "portal-technicians"); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("group add twice: %d %s", code, errOut)
	}
	if code, out, errOut := ks("group", "members", "add", "portal-technicians", "jtech", "jlead"); code != 0 || !strings.Contains(out, "jtech, jlead added to group portal-technicians") {
		t.Errorf("members add: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("group", "members", "add", "portal-technicians", "nobody"); code != 1 || !strings.Contains(errOut, "nobody") {
		t.Errorf("members add unknown: %d %s", code, errOut)
	}
	if code, out, _ := ks("account", "show", "jtech"); code != 0 || !strings.Contains(out, "portal-technicians") {
		t.Errorf("account show after members add: %s", out)
	}
	if code, out, _ := ks("group", "show", "portal-technicians"); code != 0 || !strings.Contains(out, "members:") || !strings.Contains(out, "  jlead\n") || !strings.Contains(out, "by hand") {
		t.Errorf("group show: %d %s", code, out)
	}
	if code, out, errOut := ks("group", "members", "remove", "portal-technicians", "jlead"); code != 0 || !strings.Contains(out, "jlead removed from") {
		t.Errorf("members remove: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := ks("group", "remove", "portal-technicians"); code != 1 || !strings.Contains(errOut, "--force") {
		t.Errorf("remove a group with members: %d %s", code, errOut)
	}

	// A group of the MIS: listed, but refused to every change by hand.
	s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		g := directory.Group{Name: "year-7", Kind: directory.GroupYear, Source: directory.SourceMIS}
		if err := tx.CreateGroup(ctx, &g); err != nil {
			return err
		}
		return directory.New(s, directory.Config{}).Record(ctx, tx, "sync", "group.create", "group:year-7", nil, nil)
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if code, out, _ := ks("group", "list"); code != 0 || !strings.Contains(out, "year-7") || !strings.Contains(out, "MIS") || !strings.Contains(out, "portal-technicians") {
		t.Errorf("group list: %s", out)
	}
	if code, out, _ := ks("group", "list", "--by-hand"); code != 0 || strings.Contains(out, "year-7") {
		t.Errorf("group list --by-hand: %s", out)
	}
	for _, args := range [][]string{
		{"group", "members", "add", "year-7", "jtech"},
		{"group", "members", "remove", "year-7", "jtech"},
		{"group", "remove", "year-7", "--force"},
		{"account", "add", "--username", "jnew", "--role", "staff", "--group", "year-7"},
	} {
		if code, _, errOut := ks(args...); code != 1 || !strings.Contains(errOut, "MIS") {
			t.Errorf("%s on an MIS group: %d %s", strings.Join(args, " "), code, errOut)
		}
	}

	if code, out, errOut := ks("group", "remove", "portal-technicians", "--force"); code != 0 || !strings.Contains(out, "1 member(s)") {
		t.Errorf("forced remove: %d %s %s", code, out, errOut)
	}
	// Each change is in the audit trail.
	code, out, _ := ks("audit", "export")
	if code != 0 {
		t.Fatal("audit export")
	}
	for _, want := range []string{`"group.create"`, `"group.add_member"`, `"group.remove_member"`, `"group.delete"`} {
		if !strings.Contains(out, want) {
			t.Errorf("audit trail lacks %s", want)
		}
	}
}

// keystage init, on a new installation, makes what serve needs and the
// portal's role groups, and appoints the first technician: no demo needed.
func TestInitAppointsTheFirstTechnician(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	ks := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, stdin, append([]string{"--data", dir}, args...)...)
	}
	code, out, errOut := ks("Kestrel-Harbour-47\n", "init", "--technician", "techadmin", "--given", "Tess", "--family", "Admin")
	if code != 0 {
		t.Fatalf("init: %d %s %s", code, out, errOut)
	}
	for _, want := range []string{"key file", "created", "audit signing key", "portal-technicians, portal-safeguarding, portal-auditors", "technician techadmin: created and appointed", "portal-senior-leaders"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := ks("", "account", "show", "techadmin"); code != 0 || !strings.Contains(out, "portal-technicians") || !strings.Contains(out, "password:") {
		t.Errorf("technician: %s", out)
	}
	// Again: nothing new is made, and an existing staff account is appointed.
	if code, _, errOut := ks("", "account", "add", "--username", "jlead", "--role", "staff"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut = ks("", "init", "--technician", "jlead")
	if code != 0 || !strings.Contains(out, "already there: portal-technicians") || !strings.Contains(out, "opens the database's secrets") ||
		!strings.Contains(out, "technician jlead: appointed") {
		t.Errorf("second init: %d %s %s", code, out, errOut)
	}
	// The command now works, once init has made the groups.
	code, _, errOut = ks("Kestrel-Harbour-48\n", "account", "add", "--username", "techtwo", "--role", "staff", "--group", "portal-technicians", "--password-stdin")
	if code != 0 {
		t.Errorf("account add --group portal-technicians after init: %s", errOut)
	}
	if code, out, _ := ks("", "group", "show", "portal-technicians"); !strings.Contains(out, "members:      3") && !strings.Contains(out, "3\n") {
		t.Errorf("technicians: %d %s", code, out)
	}
}
