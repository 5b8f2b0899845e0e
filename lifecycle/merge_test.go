package lifecycle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pupils := write("pupils.csv", "Adno,Forename,Surname,Year\n1001,Zoë,Smith,Year 7\n1002,Rhys,Evans,Yr 8\n,No,Id,7\n")
	staff := write("staff.csv", "Staff ID,First,Last\n1002,Siân,ap Rhys\n2001,Kwame,Mensah\n")
	pm := CSVMapping{ID: "Adno", GivenName: "Forename", FamilyName: "Surname", YearGroup: "Year", FixedRole: "pupil"}
	sm := CSVMapping{ID: "Staff ID", GivenName: "First", FamilyName: "Last", FixedRole: "staff"}
	open := func(path string, m CSVMapping) Source {
		s, err := Open("csv:"+path, ReadOptions{Mapping: m})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	exp, err := Merge(open(pupils, pm), open(staff, sm)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if exp.Source != "csv:"+pupils+" + csv:"+staff || exp.Rows != 5 || !exp.ClassesPartial {
		t.Errorf("source %q, %d rows, partial %v; want both named, 5 rows, classes not told", exp.Source, exp.Rows, exp.ClassesPartial)
	}
	checkExport(t, exp, []string{
		`2 1001 pupil "Zoë" "Smith" pref="" email="" year="7" reg="" classes=[] left=[] start=- leave=- modified=-`,
		`3 2001 staff "Kwame" "Mensah" pref="" email="" year="" reg="" classes=[] left=[] start=- leave=- modified=-`,
	}, []string{
		pupils + ":4 : the Adno column (the MIS id) is empty",
		pupils + ":3 1002: MIS id 1002 is in more than one report (" + pupils + " line 3, " + staff + " line 2): give one report an id_prefix",
		staff + ":2 1002: MIS id 1002 is in more than one report",
	})

	sm.IDPrefix = "staff-"
	exp, err = Merge(open(pupils, pm), open(staff, sm)).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range exp.Records {
		ids = append(ids, r.MISID)
	}
	if strings.Join(ids, " ") != "1001 1002 staff-1002 staff-2001" || len(exp.Refused) != 1 {
		t.Errorf("with id_prefix: ids %v, refused %v; want 1001 1002 staff-1002 staff-2001 and only the row without an id", ids, exp.Refused)
	}
}

func TestMergeBulkWithDelta(t *testing.T) {
	bulk, _ := Open("oneroster:testdata/oneroster-1.1-bulk", ReadOptions{})
	delta, _ := Open("oneroster:testdata/oneroster-1.1-delta", ReadOptions{})
	if _, err := Merge(bulk, delta).Read(context.Background()); !errors.Is(err, ErrMixedExports) {
		t.Errorf("error %v, want ErrMixedExports", err)
	}
	missing, _ := Open("oneroster:testdata/none", ReadOptions{})
	if _, err := Merge(bulk, missing).Read(context.Background()); err == nil {
		t.Error("a source that cannot be read must fail the merge")
	}
}

func TestOpenWithReports(t *testing.T) {
	dir := t.TempDir()
	staff := filepath.Join(dir, "staff.csv")
	if err := os.WriteFile(staff, []byte("Staff Code,First,Last\nT1,Grace,Hopper\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sm := CSVMapping{ID: "Staff Code", GivenName: "First", FamilyName: "Last", FixedRole: "staff", IDPrefix: "staff-"}
	// A OneRoster export of pupils and staff read with a staff report.
	src, err := Open("oneroster:testdata/oneroster-1.1-bulk", ReadOptions{Reports: []CSVReport{{Path: staff, Mapping: sm}}})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(exp.Records); n != 8 || exp.Records[n-1].MISID != "staff-T1" || exp.Rows != 10 {
		t.Errorf("%d records (last %+v), %d rows; want the 7 OneRoster people and staff-T1 from 10 rows", n, exp.Records[n-1], exp.Rows)
	}
	_, err = Open("oneroster:x", ReadOptions{Reports: []CSVReport{{Mapping: sm}, {Path: staff}}})
	if !errors.Is(err, ErrBadMapping) || !strings.Contains(err.Error(), "report 1: ") || !strings.Contains(err.Error(), "report 2 ("+staff+")") {
		t.Errorf("error %v, want every report's problems named", err)
	}
}
