// Package lifecycle keeps the directory in step with the school's MIS: it
// reads what the MIS exports (OneRoster CSV, or a plain CSV with a column
// mapping), works out the starters, movers, leavers and returners as a plan
// that changes nothing, and applies a plan in one transaction with its audit
// events. It also holds the leaver and retention jobs. It never touches what
// the MIS does not own (service accounts, guests, manual groups), reads no
// flags or environment, and speaks to the directory only through its Store.
package lifecycle

import (
	"context"
	"time"

	"keystage.dev/keystage/directory"
)

// Record is one person as the MIS exports them, in the MIS's own words,
// before any username or group is worked out.
type Record struct {
	// File and Line say where the record came from (1-based line number of
	// its row, header being line 1), for messages.
	File string
	Line int

	MISID      string // the anchor: sourcedId in OneRoster, the mapped id column otherwise
	Role       directory.Role
	GivenName  string
	FamilyName string
	// PreferredName, when the MIS has one, is how the person is addressed.
	PreferredName string
	Email         string
	YearGroup     string   // pupils: "R", "1" … "13", normalised (no "Year ")
	RegGroup      string   // pupils: registration group, "7A"
	Classes       []string // teaching groups the person is enrolled in, by MIS class code
	// LeftClasses are classes a OneRoster delta says the person left
	// (enrolment or class tobedeleted): with Export.ClassesPartial, what
	// to take away, as Classes is what to add.
	LeftClasses []string
	StartDate   time.Time
	LeaveDate   time.Time // zero: none

	// Deleted is OneRoster's status=tobedeleted; Disabled is
	// enabledUser=false. Either makes the person a leaver.
	Deleted  bool
	Disabled bool
	// Modified is dateLastModified, when the source gives it.
	Modified time.Time
}

// Refusal is a row the reader could not take, kept with where it was and
// why, so that the plan and the portal can show it until a later export
// fixes it.
type Refusal struct {
	File   string
	Line   int
	MISID  string // when it could be read
	Reason string // in words for a technician: "leave date 31/13/2026 is not a date"
}

// Export is everything one read of the MIS gave.
type Export struct {
	// Source names it: "oneroster:/path" or "csv:/path".
	Source string
	// Delta is true for a OneRoster delta export: records missing from it
	// are unchanged, not missing.
	Delta bool
	// ClassesPartial is true when the export does not list every
	// enrolment (OneRoster enrollments.csv delta or absent, or classes.csv
	// absent; a CSV report with no classes column): a record's
	// Classes and RegGroup are then only what the export told, and a class
	// not listed is not a class left. In a delta, Role may also be empty
	// when the export did not restate it: the account keeps its own.
	ClassesPartial bool
	Records        []Record
	Refused        []Refusal
	// Rows is how many data rows the person file held (refused included),
	// for the "source lost rows" safety check.
	Rows int
	// Years is what each OneRoster grade code became, with how many
	// pupils, in grade order.
	Years []GradeYear
	// Orgs are the people's organisations, read for a trust (see
	// SplitByOrg); nil otherwise.
	Orgs *Orgs
}

// countGrade counts a pupil whose grade code became year.
func (e *Export) countGrade(code, year string) {
	for i := range e.Years {
		if e.Years[i].Grade == code {
			e.Years[i].Pupils++
			return
		}
	}
	e.Years = append(e.Years, GradeYear{Grade: code, Year: year, Pupils: 1})
	for i := len(e.Years) - 1; i > 0 && e.Years[i].Grade < e.Years[i-1].Grade; i-- {
		e.Years[i], e.Years[i-1] = e.Years[i-1], e.Years[i]
	}
}

// Source reads an export from the MIS.
type Source interface {
	Read(ctx context.Context) (*Export, error)
}
