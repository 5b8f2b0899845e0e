package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func permOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// Under umask 000, migrate up in an existing 0755 directory leaves the
// store 0600 in a 0700 directory, and a backup is 0600; so is a plan file.
func TestStoreAndBackupArePrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := keystage(t, "", "--data", dir, "migrate", "up"); code != 0 {
		t.Fatalf("migrate up: %d %s %s", code, out, errOut)
	}
	if m := permOf(t, dir); m != 0o700 {
		t.Errorf("data directory %o, want 700", m)
	}
	for _, f := range []string{"keystage.db", "keystage.db.lock"} {
		if m := permOf(t, filepath.Join(dir, f)); m != 0o600 {
			t.Errorf("%s %o, want 600", f, m)
		}
	}
	for _, f := range []string{"keystage.db-wal", "keystage.db-shm"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil && st.Mode().Perm() != 0o600 {
			t.Errorf("%s %o, want 600", f, st.Mode().Perm())
		}
	}
	backup := filepath.Join(t.TempDir(), "k.backup")
	if code, out, errOut := keystage(t, "", "--data", dir, "backup", "-o", backup); code != 0 {
		t.Fatalf("backup: %d %s %s", code, out, errOut)
	}
	if m := permOf(t, backup); m != 0o600 {
		t.Errorf("backup %o, want 600", m)
	}
	// An old store left 0644 by an earlier version is tightened.
	os.Chmod(filepath.Join(dir, "keystage.db"), 0o644)
	os.Chmod(dir, 0o755)
	if code, out, errOut := keystage(t, "", "--data", dir, "migrate", "up"); code != 0 {
		t.Fatalf("migrate up: %d %s %s", code, out, errOut)
	}
	if m := permOf(t, filepath.Join(dir, "keystage.db")); m != 0o600 {
		t.Errorf("old store left %o, want 600", m)
	}
	if m := permOf(t, dir); m != 0o700 {
		t.Errorf("old data directory left %o, want 700", m)
	}
}

// A name stored with what a terminal obeys (by an older Keystage, or by
// hand) prints escaped in account show and account list.
func TestAccountShowEscapesNames(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := keystage(t, "", "--data", dir, "migrate", "up"); code != 0 {
		t.Fatalf("migrate up: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := keystage(t, "", "--data", dir, "account", "add", "--username", "eve", "--role", "staff",
		"--given", "\x1b]0;owned\x07\x1b[2JEve", "--family", "Ev\u202eil"); code != 0 {
		t.Fatalf("add: %d %s %s", code, out, errOut)
	}
	for _, args := range [][]string{{"account", "show", "eve"}, {"account", "list"}} {
		code, out, errOut := keystage(t, "", append([]string{"--data", dir}, args...)...)
		if code != 0 {
			t.Fatalf("%v: %d %s %s", args, code, out, errOut)
		}
		if strings.ContainsAny(out, "\x1b\x07\u202e") || !strings.Contains(out, `\x1b[2JEve`) {
			t.Errorf("%v printed a name a terminal would obey:\n%q", args, out)
		}
	}
}
