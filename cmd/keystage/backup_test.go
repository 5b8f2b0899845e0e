package main

import (
	"path/filepath"
	"strings"
	"testing"

	"keystage.dev/keystage/directory/sqlstore"
)

func TestBackupBesideARunningServerAndRestore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	// Hold the writer's lock as keystage serve does.
	server, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	code, stdout, errOut := keystage(t, "", "--data", dir, "backup", "-o", out)
	if code != 0 || !strings.Contains(stdout, "key file") || !strings.Contains(stdout, "audit signing key") {
		t.Fatalf("backup beside the server: %d %s %s", code, stdout, errOut)
	}
	if code, _, errOut := keystage(t, "", "--data", dir, "restore", out); code != 1 || !strings.Contains(errOut, "stop keystage first") {
		t.Errorf("restore under the server: %d %s", code, errOut)
	}
	server.Close()
	if code, stdout, errOut := keystage(t, "", "--data", dir, "restore", out); code != 0 {
		t.Fatalf("restore: %d %s %s", code, stdout, errOut)
	}
	if code, stdout, _ := keystage(t, "", "--data", dir, "account", "list", "--role", "staff"); code != 0 || strings.Count(stdout, "\n") != 31 {
		t.Errorf("after restore: %d\n%s", code, stdout)
	}
}

// On PostgreSQL, backup and restore say which tools to use instead.
func TestBackupOnPostgresPointsToItsTools(t *testing.T) {
	t.Setenv("KEYSTAGE_DATABASE_URL", "postgres://keystage@db.invalid/keystage")
	for _, args := range [][]string{{"backup", "-o", filepath.Join(t.TempDir(), "b.db")}, {"restore", "b.db"}} {
		code, _, errOut := keystage(t, "", append([]string{"--data", t.TempDir()}, args...)...)
		if code != 1 || !strings.Contains(errOut, "pg_dump") {
			t.Errorf("%s on PostgreSQL: %d %q", args[0], code, errOut)
		}
		if args[0] == "backup" && (!strings.Contains(errOut, "key file") || !strings.Contains(errOut, "audit signing key")) {
			t.Errorf("backup on PostgreSQL does not say the keys are apart: %q", errOut)
		}
	}
}
