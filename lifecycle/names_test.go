package lifecycle

import (
	"context"
	"strings"
	"testing"

	"keystage.dev/keystage/terminal"
)

var long = strings.Repeat("a", 300)

// Names that could rewrite a technician's screen, reorder a line or push
// the plan off it are refused at the reader, with file and line.
func TestMappedCSVRefusesUnsafeNames(t *testing.T) {
	in := "ID,Forename,Surname,Preferred,Role,Year\r\n" +
		"1,\"\x1b]0;owned\x07\x1b[2JAda\",Lovelace,,Pupil,7\r\n" + // 2
		"2,Ada,Love\x00lace,,Pupil,7\r\n" + // 3
		"3,Ada,\u202eecalevoL,,Pupil,7\r\n" + // 4
		"4," + long + ",Lovelace,,Pupil,7\r\n" + // 5
		"5,Ada,Lovelace,\u009bKhai,Pupil,7\r\n" + // 6
		"6,Zoë,O'Connor-Smyth,,Pupil,7\r\n" // 7
	m := CSVMapping{ID: "ID", GivenName: "Forename", FamilyName: "Surname", PreferredName: "Preferred", Role: "Role", YearGroup: "Year"}
	exp, err := readMappedCSV(context.Background(), "pupils.csv", strings.NewReader(in), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkExport(t, exp, []string{
		`7 6 pupil "Zoë" "O'Connor-Smyth" pref="" email="" year="7" reg="" classes=[] left=[] start=- leave=- modified=-`,
	}, []string{
		"pupils.csv:2 1: given name holds the control character U+001B at character 1: correct it in the MIS",
		"pupils.csv:3 2: family name holds the control character U+0000 at character 5",
		"pupils.csv:4 3: family name holds the control character U+202E at character 1",
		"pupils.csv:5 4: given name is 300 characters long, more than the 100 a name may have",
		"pupils.csv:6 5: preferred name holds the control character U+009B at character 1",
	})
	for _, r := range exp.Refused {
		if terminal.Safe(r.Reason) != r.Reason {
			t.Errorf("a refusal's reason holds what a terminal obeys: %q", r.Reason)
		}
	}
}

func TestOneRosterRefusesUnsafeNames(t *testing.T) {
	users := usersHeader11 +
		"u1,active,2026-07-20,true,org-school,student,,,\"Ada\x1b[2J\",Lovelace,,,,,,,07,\n" + // 2
		"u2,active,2026-07-20,true,org-school,student,,,Ada,\u2066Lovelace,,,,,,,07,\n" + // 3
		"u3,active,2026-07-20,true,org-school,student,,,Ada," + long + ",,,,,,,07,\n" + // 4
		"u4,active,2026-07-20,true,org-school,student,,,Ada,Lovelace,,,,,,,07,\n" // 5
	exp, err := readOneRoster(context.Background(), fixtureFS(t, map[string]string{"users.csv": users}), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkExport(t, exp, []string{
		`5 u4 pupil "Ada" "Lovelace" pref="" email="" year="7" reg="" classes=[] left=[] start=- leave=- modified=2026-07-20T00:00:00Z`,
	}, []string{
		"users.csv:2 u1: given name holds the control character U+001B at character 4",
		"users.csv:3 u2: family name holds the control character U+2066 at character 1",
		"users.csv:4 u3: family name is 300 characters long",
	})
}

func FuzzNamesProblem(f *testing.F) {
	for _, s := range []string{"Zoë", "\x1b[2J", "a\u202eb", "\xff", long, "Thị Minh Khai"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if namesProblem(s, "x", "") != "" {
			return
		}
		if terminal.Safe(s) != s {
			t.Fatalf("%q taken as a name, yet a terminal would obey it", s)
		}
		if n := len([]rune(s)); n > MaxNameLength {
			t.Fatalf("a name of %d characters taken", n)
		}
	})
}
