package lifecycle

import (
	"context"
	"maps"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"keystage.dev/keystage/directory"
)

// checkFuzzedExport holds what every read must keep, whatever the input:
// each refusal says where and why, each record is whole, no id twice.
func checkFuzzedExport(t *testing.T, exp *Export) {
	t.Helper()
	for _, r := range exp.Refused {
		if r.Line < 2 || r.Reason == "" || r.File == "" {
			t.Fatalf("refusal without a data line, file or reason: %+v", r)
		}
	}
	ids := map[string]bool{}
	for _, r := range exp.Records {
		if r.Line < 2 || r.MISID == "" || ids[r.MISID] {
			t.Fatalf("record without a line or id, or a repeated id: %+v", r)
		}
		ids[r.MISID] = true
		if r.Deleted || exp.Delta {
			continue
		}
		if r.GivenName == "" || r.FamilyName == "" || (r.Role != directory.RoleStaff && r.Role != directory.RolePupil) {
			t.Fatalf("record taken without names or role: %+v", r)
		}
	}
	if len(exp.Records) > exp.Rows {
		t.Fatalf("%d records from %d rows", len(exp.Records), exp.Rows)
	}
}

func FuzzMappedCSV(f *testing.F) {
	seed, err := os.ReadFile("testdata/sims-report.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("Adno,Legal Surname,Legal Forename,Preferred Forename,Year,Reg,Type,Start,Leaving,Email,Classes\n1,\"a\"\"b\",c,,Yr 7,7A,Pupil,31/02/2026,,,x;y\n1,a,b\n"))
	f.Add([]byte("Adno,Legal Surname,Legal Forename,Preferred Forename,Year,Reg,Type,Start,Leaving,Email,Classes\r\n2,\"unterminated,b,c\r\n"))
	m := simsMapping()
	f.Fuzz(func(t *testing.T, data []byte) {
		exp, err := readMappedCSV(context.Background(), "report.csv", bytesReader(data), m, nil)
		if err != nil {
			return
		}
		checkFuzzedExport(t, exp)
	})
}

func FuzzOneRoster(f *testing.F) {
	for _, dir := range []string{"testdata/oneroster-1.1-bulk", "testdata/oneroster-1.1-delta", "testdata/oneroster-1.2-bulk"} {
		var files [3][]byte
		for i, name := range []string{"users.csv", "enrollments.csv", "roles.csv"} {
			b, err := os.ReadFile(dir + "/" + name)
			if err != nil && name != "roles.csv" {
				f.Fatal(err)
			}
			files[i] = b
		}
		f.Add(files[0], files[1], files[2], strings.Contains(dir, "1.2"))
	}
	f.Add([]byte(usersHeader11+"u1,tobedeleted,,,,,,,,,,,,,,,,\nu1,active,x,TRUE\n"), []byte("classSourcedId,userSourcedId,status\ncls-7a,u1,tobedeleted\n"), []byte(nil), false)
	base := fixtureFS(f, nil).(fstest.MapFS)
	man11 := string(base["manifest.csv"].Data)
	man12 := strings.Replace(strings.Replace(man11, "oneroster.version,1.1", "oneroster.version,1.2", 1), "file.results,absent", "file.results,absent\nfile.roles,bulk", 1)
	f.Fuzz(func(t *testing.T, users, enrollments, roles []byte, v12 bool) {
		fsys := maps.Clone(base)
		fsys["users.csv"] = &fstest.MapFile{Data: users}
		fsys["enrollments.csv"] = &fstest.MapFile{Data: enrollments}
		if v12 {
			fsys["manifest.csv"] = &fstest.MapFile{Data: []byte(man12)}
			fsys["roles.csv"] = &fstest.MapFile{Data: roles}
		}
		exp, err := readOneRoster(context.Background(), fsys, nil)
		if err != nil {
			return
		}
		checkFuzzedExport(t, exp)
	})
}
