package lifecycle

import (
	"context"
	"maps"
	"os"
	"testing"
	"testing/fstest"
)

// FuzzOneRosterOrgs: whatever orgs.csv, users.csv and roles.csv hold, the
// orgs are read without a panic, and splitting by any org either refuses
// or gives a part holding only people of the export, each once.
func FuzzOneRosterOrgs(f *testing.F) {
	var files [3][]byte
	for i, name := range []string{"orgs.csv", "users.csv", "roles.csv"} {
		b, err := os.ReadFile("testdata/oneroster-trust/" + name)
		if err != nil && name != "roles.csv" {
			f.Fatal(err)
		}
		files[i] = b
	}
	f.Add(files[0], files[1], files[2], "org-north")
	f.Add([]byte("sourcedId,parentSourcedId\na,b\nb,a\n"), []byte("sourcedId,orgSourcedIds,givenName,familyName,role\nu1,\"a,,b\",x,y,student\n"), []byte(nil), "c")
	base := fixtureFS(f, nil).(fstest.MapFS)
	f.Fuzz(func(t *testing.T, orgs, users, roles []byte, org string) {
		fsys := maps.Clone(base)
		fsys["orgs.csv"] = &fstest.MapFile{Data: orgs}
		fsys["users.csv"] = &fstest.MapFile{Data: users}
		fsys["roles.csv"] = &fstest.MapFile{Data: roles}
		m, err := readManifest(fsys)
		if err != nil {
			t.Fatal(err)
		}
		o, err := readOneRosterOrgs(context.Background(), fsys, m)
		if err != nil {
			return
		}
		exp, err := readOneRoster(context.Background(), fsys, nil)
		if err != nil {
			return
		}
		exp.Orgs = o
		part, err := SplitByOrg(exp, "s", []string{org})
		if err != nil {
			return
		}
		ids := map[string]bool{}
		for _, r := range part.Records {
			if ids[r.MISID] || len(o.Users[r.MISID]) == 0 {
				t.Fatalf("record %s twice, or of no org", r.MISID)
			}
			ids[r.MISID] = true
		}
		if len(part.Records) > len(exp.Records) {
			t.Fatalf("%d records in a part of %d", len(part.Records), len(exp.Records))
		}
	})
}
