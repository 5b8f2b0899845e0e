package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/migrations"
)

// A store made before user private groups, where people's gids were their
// uids and groups counted from the same 100000, is put right by migration
// 00110: no uidNumber changes, every person's gid is their uid and names
// no stored group, the groups move to 10,000,000 and up, and the mapping
// is kept for `keystage migrate gids`.
func TestUserPrivateGroupsMigration(t *testing.T) {
	for name, u := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "keystage.db") },
		"postgres": PostgresURL,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			url := u(t)
			db, err := sqlstore.OpenRaw(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			dialect, gd := "sqlite", goose.DialectSQLite3
			if sqlstore.DialectOf(url) == sqlstore.Postgres {
				dialect, gd = "postgres", goose.DialectPostgres
			}
			fsys, err := migrations.For(dialect)
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(gd, db, fsys)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 90); err != nil {
				t.Fatal(err)
			}
			// As the old store made them: both counters from 100000.
			for _, q := range []string{
				`INSERT INTO accounts (uuid, username, role, source, status, uid_number, gid_number, created_at, updated_at) VALUES
				 ('u1', 'jteacher', 'staff', 'mis', 'active', 100001, 100001, 0, 0),
				 ('u2', 'apupil', 'pupil', 'mis', 'active', 100002, 100002, 0, 0),
				 ('u3', 'handset', 'staff', 'manual', 'active', 100003, 100001, 0, 0)`,
				`INSERT INTO groups (name, kind, source, mis_id, description, gid_number) VALUES
				 ('staff', 'role', 'mis', '', '', 100001), ('pupils', 'role', 'mis', '', '', 100002), ('year-11', 'year', 'mis', '', '', 100003)`,
				`UPDATE counters SET value = 100003`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			db.Close()

			s, err := sqlstore.Open(ctx, sqlstore.Config{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !containsVersion(s.Migrated(), 110) {
				t.Errorf("migrations applied %v, want 110 among them", s.Migrated())
			}
			for uname, uid := range map[string]int64{"jteacher": 100001, "apupil": 100002, "handset": 100003} {
				a, err := s.AccountByUsername(ctx, uname)
				if err != nil {
					t.Fatal(err)
				}
				if a.UIDNumber != uid || a.GIDNumber != uid {
					t.Errorf("%s: uid %d gid %d, want both %d", uname, a.UIDNumber, a.GIDNumber, uid)
				}
				if g, err := s.GroupByGID(ctx, a.GIDNumber); err == nil {
					t.Errorf("%s: primary gid %d names group %s", uname, a.GIDNumber, g.Name)
				}
			}
			for gname, gid := range map[string]int64{"staff": 10000001, "pupils": 10000002, "year-11": 10000003} {
				if g, err := s.GroupByName(ctx, gname); err != nil || g.GIDNumber != gid {
					t.Errorf("group %s: %+v %v, want gid %d", gname, g, err, gid)
				}
			}
			cs, err := s.GIDChanges(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []sqlstore.GIDChange{{"group", "staff", 100001, 10000001}, {"group", "pupils", 100002, 10000002},
				{"group", "year-11", 100003, 10000003}, {"account", "handset", 100001, 100003}}
			if len(cs) != len(want) {
				t.Fatalf("gid changes %+v, want %+v", cs, want)
			}
			for i := range want {
				if cs[i] != want[i] {
					t.Errorf("gid change %d: %+v, want %+v", i, cs[i], want[i])
				}
			}
			// New groups and people keep to their ranges.
			err = s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
				g := directory.Group{Name: "7a", Kind: directory.GroupReg, Source: directory.SourceMIS}
				if err := tx.CreateGroup(ctx, &g); err != nil {
					return err
				}
				if g.GIDNumber != 10000004 {
					t.Errorf("new group gid %d, want 10000004", g.GIDNumber)
				}
				a := directory.Account{Username: "newbie", Role: directory.RolePupil, Source: directory.SourceMIS, GIDNumber: 10000001}
				if err := tx.CreateAccount(ctx, &a); err != nil {
					return err
				}
				if a.UIDNumber != 100004 || a.GIDNumber != a.UIDNumber {
					t.Errorf("new person uid %d gid %d", a.UIDNumber, a.GIDNumber)
				}
				return tx.Record(ctx, &audit.Event{Actor: "test", Action: "group.create", Target: "group:7a"})
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func containsVersion(vs []int64, v int64) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}
