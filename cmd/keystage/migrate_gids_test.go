package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/migrations"
)

// migrate up on a store from before user private groups prints each moved
// gid, old and new, with the chgrp line that puts its files right; migrate
// gids prints the same again later.
func TestMigrateUpPrintsTheGIDMapping(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.OpenRaw(ctx, "sqlite:"+filepath.Join(dir, "keystage.db"))
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := migrations.For("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 90); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts (uuid, username, role, source, status, uid_number, gid_number, created_at, updated_at)
		 VALUES ('u1', 'ayear7', 'pupil', 'mis', 'active', 100031, 100031, 0, 0)`,
		`INSERT INTO groups (name, kind, source, mis_id, description, gid_number) VALUES ('year-11', 'year', 'mis', '', '', 100031)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	code, out, errOut := keystage(t, "", "--data", dir, "migrate", "up")
	if code != 0 {
		t.Fatalf("migrate up: %d %s %s", code, out, errOut)
	}
	line := "group  year-11  100031   10000031  find / -xdev -gid 100031 ! -uid 100031 -exec chgrp -h 10000031 {} +"
	if !strings.Contains(out, line) {
		t.Errorf("migrate up printed:\n%s\nwant the line %q", out, line)
	}
	code, again, errOut := keystage(t, "", "--data", dir, "migrate", "gids")
	if code != 0 || !strings.Contains(again, line) {
		t.Errorf("migrate gids: %d %s %s", code, again, errOut)
	}
	// Once applied, migrate up has nothing more to say about gids.
	if _, out, _ := keystage(t, "", "--data", dir, "migrate", "up"); strings.Contains(out, "year-11") {
		t.Errorf("a second migrate up printed the mapping again:\n%s", out)
	}
}
