package lifecycle

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// simsMapping is the mapping of testdata/sims-report.csv, a report laid
// out as SIMS writes one.
func simsMapping() CSVMapping {
	return CSVMapping{
		ID: "Adno", GivenName: "Legal Forename", FamilyName: "Legal Surname", PreferredName: "Preferred Forename",
		Role: "Type", SkipValues: []string{"Contact"}, YearGroup: "Year", RegGroup: "Reg",
		Classes: "Classes", StartDate: "Start", LeaveDate: "Leaving", Email: "Email",
	}
}

func TestMappedCSV(t *testing.T) {
	src, err := Open("csv:testdata/sims-report.csv", ReadOptions{Mapping: simsMapping(), Location: london(t)})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if exp.Source != "csv:testdata/sims-report.csv" || exp.Delta || exp.ClassesPartial || exp.Rows != 7 {
		t.Errorf("source %q delta %v partial %v rows %d, want the path, not a delta, every class, 7 rows", exp.Source, exp.Delta, exp.ClassesPartial, exp.Rows)
	}
	checkExport(t, exp, []string{
		// The file writes Zoë decomposed (NFD); the record has it composed.
		`2 004001 pupil "Zoë" "O'Connor-Smyth" pref="" email="" year="7" reg="7A" classes=[7-ma-1 7-en-2] left=[] start=2026-09-02T23:00:00Z leave=- modified=-`,
		`3 004002 pupil "Thị Minh Khai" "Nguyễn" pref="Khai" email="" year="8" reg="8B" classes=[] left=[] start=2025-09-02T23:00:00Z leave=- modified=-`,
		// Line 4 is blank.
		`5 004003 pupil "Siân" "ap Rhys" pref="" email="" year="7" reg="7A" classes=[] left=[] start=2026-09-02T23:00:00Z leave=- modified=-`,
		// A quoted newline in the forename: the row starts on line 6 and
		// the next on line 8; staff have no year or registration group.
		`6 S0001 staff "Oliver James" "Smith" pref="Olly" email="oliver.smith@cwm.example.org" year="" reg="" classes=[] left=[] start=2019-08-31T23:00:00Z leave=- modified=-`,
		`8 004004 pupil "Yusuf" "Khan" pref="" email="" year="R" reg="RR" classes=[] left=[] start=2026-09-02T23:00:00Z leave=2027-08-30T23:00:00Z modified=-`,
		// Line 9 is a contact: skipped, not refused.
		`10 004006 pupil "Amelia" "Jones" pref="" email="" year="11" reg="11C" classes=[] left=[] start=2021-09-02T23:00:00Z leave=2026-07-21T23:00:00Z modified=-`,
	}, nil)
	if name := exp.Records[0].GivenName; name != "Zo\u00eb" {
		t.Errorf("given name %+q is not NFC", name)
	}
}

func TestMappedCSVRefusals(t *testing.T) {
	in := "ID,Forename,Surname,Role,Year,Start,Leave\r\n" +
		",Ada,Lovelace,Pupil,7,03/09/2026,\r\n" + // 2
		"1,,Lovelace,Pupil,7,03/09/2026,\r\n" + // 3
		"2,Ada,,Pupil,7,03/09/2026,\r\n" + // 4
		"3,Ada,Lovelace,Pupil,7,31/13/2026,\r\n" + // 5
		"4,Ada,Lovelace,Pupil,7,03/09/2026,yesterday\r\n" + // 6
		"5,Ada,Lovelace,Pupil,7,03/09/2026,01/09/2026\r\n" + // 7
		"6,Ada,Lovelace,Governor,7,03/09/2026,\r\n" + // 8
		"7,Ada,Lovelace,,7,03/09/2026,\r\n" + // 9
		"8,Ada,Lovelace,Pupil,Year Seven,03/09/2026,\r\n" + // 10
		"9,\"Ada\r\nAugusta\",Lovelace,Pupil,7,03/09/2026,\r\n" + // 11-12
		"10,Grace,Hopper,Staff,,01/09/2020,\r\n" + // 13
		"9,Ada,Byron,Pupil,7,03/09/2026,\r\n" + // 14
		"9,Ada,King,Pupil,7,03/09/2026,\r\n" + // 15
		"11,Ad\"a,Lovelace,Pupil,7,03/09/2026,\r\n" + // 16
		"12,Mary,Somerville,PUPIL,Yr 10,2026-09-03,2027-07-22\r\n" // 17
	m := CSVMapping{ID: "ID", GivenName: "Forename", FamilyName: "Surname", Role: "Role", YearGroup: "Year", StartDate: "Start", LeaveDate: "Leave"}
	exp, err := readMappedCSV(context.Background(), "pupils.csv", strings.NewReader(in), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Rows != 15 {
		t.Errorf("rows %d, want 15", exp.Rows)
	}
	checkExport(t, exp, []string{
		`13 10 staff "Grace" "Hopper" pref="" email="" year="" reg="" classes=[] left=[] start=2020-09-01T00:00:00Z leave=- modified=-`,
		`17 12 pupil "Mary" "Somerville" pref="" email="" year="10" reg="" classes=[] left=[] start=2026-09-03T00:00:00Z leave=2027-07-22T00:00:00Z modified=-`,
	}, []string{
		"pupils.csv:2 : the ID column (the MIS id) is empty",
		"pupils.csv:3 1: the Forename column is empty",
		"pupils.csv:4 2: the Surname column is empty",
		`pupils.csv:5 3: start date "31/13/2026" is not a date: write it as DD/MM/YYYY`,
		`pupils.csv:6 4: leave date "yesterday" is not a date`,
		"pupils.csv:7 5: leave date 01/09/2026 is before the start date 03/09/2026",
		`pupils.csv:8 6: role "Governor" is not one the mapping knows (Staff, Teacher, Support staff, Student, Pupil)`,
		"pupils.csv:9 7: the Role column (the role) is empty",
		`pupils.csv:10 8: year group "Year Seven" is not one Keystage reads`,
		"pupils.csv:11 9: MIS id 9 appears on lines 11, 14 and 15",
		"pupils.csv:14 9: MIS id 9 appears on lines 11, 14 and 15",
		"pupils.csv:15 9: MIS id 9 appears on lines 11, 14 and 15",
		"pupils.csv:16 : the row has a double quote inside an unquoted field",
	})
}

func TestMappedCSVFixedRoleAndLayouts(t *testing.T) {
	in := "\ufeffStaff Code,First,Last,Started,,,\n" +
		"ABC,Siân,ap Rhys,2019.09.01,,,\n" +
		"\n\n" +
		"DEF,Kwame,Mensah,2021.01.04,,,\n"
	m := CSVMapping{ID: "staff code", GivenName: "FIRST", FamilyName: "last", FixedRole: "staff", StartDate: "started", DateLayouts: []string{"2006.01.02"}}
	exp, err := readMappedCSV(context.Background(), "staff.csv", strings.NewReader(in), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkExport(t, exp, []string{
		`2 ABC staff "Siân" "ap Rhys" pref="" email="" year="" reg="" classes=[] left=[] start=2019-09-01T00:00:00Z leave=- modified=-`,
		`5 DEF staff "Kwame" "Mensah" pref="" email="" year="" reg="" classes=[] left=[] start=2021-01-04T00:00:00Z leave=- modified=-`,
	}, nil)
	if exp.Rows != 2 {
		t.Errorf("rows %d, want 2 (blank lines are not rows)", exp.Rows)
	}
	if !exp.ClassesPartial {
		t.Error("a report without a classes column must not say it lists every class")
	}
}

func TestMappedCSVMissingColumns(t *testing.T) {
	m := simsMapping()
	in := "Adno,Legal Surname,Legal Forename,Type\n1,Smith,Jo,Student\n"
	_, err := readMappedCSV(context.Background(), "report.csv", strings.NewReader(in), m, nil)
	if !errors.Is(err, ErrBadExport) {
		t.Fatalf("error %v, want ErrBadExport", err)
	}
	for _, w := range []string{"report.csv", `"Preferred Forename" (preferred_name)`, `"Year" (year_group)`, `"Leaving" (leave_date)`, "Adno,Legal Surname,Legal Forename,Type"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
	if _, err := readMappedCSV(context.Background(), "empty.csv", strings.NewReader(""), m, nil); !errors.Is(err, ErrBadExport) {
		t.Errorf("empty file: error %v, want ErrBadExport", err)
	}
}

func TestCSVMappingValidate(t *testing.T) {
	if err := simsMapping().Validate(); err != nil {
		t.Errorf("a good mapping: %v", err)
	}
	bad := CSVMapping{
		Role: "Type", FixedRole: "pupil",
		StaffValues: []string{"Staff", ""}, PupilValues: []string{"staff"},
		DateLayouts: []string{"dd/mm/yyyy", "02/01/2006"},
	}
	err := bad.Validate()
	if !errors.Is(err, ErrBadMapping) {
		t.Fatalf("error %v, want ErrBadMapping", err)
	}
	for _, w := range []string{"id is not set", "given_name is not set", "family_name is not set", "both role", "staff_values holds an empty value",
		`"staff" is in both staff_values and pupil_values`, `date layout "dd/mm/yyyy"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate does not report %q in:\n%v", w, err)
		}
	}
	if strings.Count(err.Error(), "date layout \"") != 1 {
		t.Errorf("Validate refuses a good layout: %v", err)
	}
	for _, m := range []CSVMapping{
		{ID: "a", GivenName: "b", FamilyName: "c"},
		{ID: "a", GivenName: "b", FamilyName: "c", FixedRole: "guest"},
	} {
		if err := m.Validate(); !errors.Is(err, ErrBadMapping) {
			t.Errorf("%+v: error %v, want ErrBadMapping", m, err)
		}
	}
}

func TestNormaliseYearGroup(t *testing.T) {
	for in, want := range map[string]string{
		"7": "7", "07": "7", "Year 7": "7", "year 07": "7", "Yr 7": "7", "Yr7": "7", "Y7": "7", "YEAR 10": "10",
		"R": "R", "Rec": "R", "Reception": "R", "YR": "R", "Year R": "R", "N": "N", "Nursery": "N",
		"L6": "12", "U6": "13", "Lower Sixth": "12", "Year 13": "13", "Year-9": "9", "": "",
	} {
		got, ok := normaliseYearGroup(in)
		if !ok || got != want {
			t.Errorf("normaliseYearGroup(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"Year Seven", "15", "7A", "Sixth"} {
		if got, ok := normaliseYearGroup(in); ok {
			t.Errorf("normaliseYearGroup(%q) = %q; want it refused", in, got)
		}
	}
}

func TestOneRosterGrade(t *testing.T) {
	for in, want := range map[string]string{"07": "7", "7": "7", "13": "13", "KG": "R", "kg": "R", "PK": "R", "TK": "R", "IT": "", "PS": "", "UG": "", "Other": "", "14": "", "x": ""} {
		if got := oneRosterGrade(in); got != want {
			t.Errorf("oneRosterGrade(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMappedCSVNotUTF8(t *testing.T) {
	// "Zoë" as Windows-1252 writes it: ë is the one byte 0xEB.
	in := "ID,Forename,Surname\n1,Ada,Lovelace\n2,Zo\xeb,Smith\n"
	m := CSVMapping{ID: "ID", GivenName: "Forename", FamilyName: "Surname", FixedRole: "pupil"}
	_, err := readMappedCSV(context.Background(), "ansi.csv", strings.NewReader(in), m, nil)
	if !errors.Is(err, ErrBadExport) || !strings.Contains(err.Error(), "ansi.csv: line 3 is not UTF-8") || !strings.Contains(err.Error(), "CSV UTF-8") {
		t.Errorf("error %v, want ErrBadExport naming ansi.csv line 3 and how to save as UTF-8", err)
	}
	_, err = readMappedCSV(context.Background(), "ansi.csv", strings.NewReader("ID,Forename,Surname\xa0\n"), m, nil)
	if !errors.Is(err, ErrBadExport) || !strings.Contains(err.Error(), "header row is not UTF-8") {
		t.Errorf("error %v, want ErrBadExport for the header", err)
	}
}

func TestParseDate(t *testing.T) {
	loc := london(t)
	for _, tc := range []struct {
		in   string
		want string // RFC 3339, or "" for refused
	}{
		{"03/09/2026", "2026-09-03T00:00:00+01:00"},
		{"2026-09-03", "2026-09-03T00:00:00+01:00"},
		{"03-09-2026", "2026-09-03T00:00:00+01:00"},
		{"3/9/2026", "2026-09-03T00:00:00+01:00"},
		{"15/01/2027", "2027-01-15T00:00:00Z"},
		{"03/09/2026 00:00", "2026-09-03T00:00:00+01:00"},
		{"03/09/2026 00:00:00", "2026-09-03T00:00:00+01:00"},
		{"03/09/2026 14:30", ""},
		{"09/31/2026", ""},
		{"31/02/2026", ""},
		{"next week", ""},
	} {
		got, err := parseDate(tc.in, DefaultDateLayouts, loc)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("parseDate(%q) = %v, want it refused", tc.in, got)
		case tc.want != "" && (err != nil || got.Format(time.RFC3339) != tc.want):
			t.Errorf("parseDate(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestMappedCSVTitleRows(t *testing.T) {
	// Reports printed with a title and the date they were run above the header.
	in := "Student List (current),,\r\nPrinted 02/09/2026 07:00,,\r\n\r\nAdno,Forename,Surname\r\n1001,Zoë,Smith\r\n"
	m := CSVMapping{ID: "Adno", GivenName: "Forename", FamilyName: "Surname", FixedRole: "pupil"}
	exp, err := readMappedCSV(context.Background(), "list.csv", strings.NewReader(in), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkExport(t, exp, []string{
		`5 1001 pupil "Zoë" "Smith" pref="" email="" year="" reg="" classes=[] left=[] start=- leave=- modified=-`,
	}, nil)
	// Without the id column anywhere near the top, the error shows the first row.
	_, err = readMappedCSV(context.Background(), "list.csv", strings.NewReader("Title\nA,B\nC,D\n1,2\n"), m, nil)
	if !errors.Is(err, ErrBadExport) || !strings.Contains(err.Error(), "its header is Title:") {
		t.Errorf("error %v, want the missing columns named against the first row", err)
	}
}
