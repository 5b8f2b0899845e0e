// Package exportgen writes synthetic MIS exports of schoolgen's fictional
// people: a OneRoster 1.1 CSV folder (bulk or delta) and a CSV report as
// an MIS would print it, with a way to turn one export into the next
// (movers, leavers, starters) for delta and sync tests and benchmarks. It
// writes only where it is told to and never reads the directory.
package exportgen

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/lifecycle/schoolgen"
	"keystage.dev/keystage/private"
)

// Options shapes an export.
type Options struct {
	// Modified is written as every row's dateLastModified (default
	// 2026-07-20T08:00:00Z).
	Modified time.Time
	// Leaving holds the leavers, by MIS id, with their leave dates: in
	// OneRoster they are written with status tobedeleted, in the CSV with
	// the leave date.
	Leaving map[string]time.Time
}

func (o Options) modified() string {
	t := o.Modified
	if t.IsZero() {
		t = time.Date(2026, 7, 20, 8, 0, 0, 0, time.UTC)
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// The OneRoster 1.1 headers, in the specification's column order.
var (
	usersHeader       = []string{"sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password"}
	classesHeader     = []string{"sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"}
	enrollmentsHeader = []string{"sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate", "endDate"}
	orgsHeader        = []string{"sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"}
	sessionsHeader    = []string{"sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"}
)

const (
	schoolID  = "org-school"
	sessionID = "as-2026"
)

// WriteOneRoster writes a OneRoster 1.1 bulk export of people into dir
// (made if need be): manifest, users, orgs, academicSessions, classes
// (registration groups as homeroom classes) and enrollments.
func WriteOneRoster(dir string, people []schoolgen.Person, opt Options) error {
	return writeOneRoster(dir, people, nil, opt)
}

// WriteOneRosterDelta writes the OneRoster 1.1 delta that takes the
// export before ch to the one after: the users that started, moved or
// left (leavers tobedeleted), the enrolments they gained (active) and lost
// (tobedeleted), and the classes in bulk.
func WriteOneRosterDelta(dir string, ch Changes, opt Options) error {
	return writeOneRoster(dir, ch.After, &ch, opt)
}

func writeOneRoster(dir string, people []schoolgen.Person, delta *Changes, opt Options) error {
	if err := private.Dir(dir); err != nil {
		return err
	}
	mod := opt.modified()
	mode := "bulk"
	if delta != nil {
		mode = "delta"
	}
	manifest := [][]string{{"propertyName", "value"}, {"manifest.version", "1.0"}, {"oneroster.version", "1.1"}}
	for _, f := range []struct{ name, mode string }{
		{"academicSessions", "bulk"}, {"categories", "absent"}, {"classes", "bulk"}, {"classResources", "absent"},
		{"courses", "absent"}, {"courseResources", "absent"}, {"demographics", "absent"}, {"enrollments", mode},
		{"lineItems", "absent"}, {"orgs", "bulk"}, {"resources", "absent"}, {"results", "absent"}, {"users", mode},
	} {
		manifest = append(manifest, []string{"file." + f.name, f.mode})
	}
	manifest = append(manifest, []string{"source.systemCode", "exportgen"}, []string{"source.systemName", "Keystage synthetic export"})
	err := errors.Join(
		writeCSVFile(filepath.Join(dir, "manifest.csv"), false, func(w *csv.Writer) error { return w.WriteAll(manifest) }),
		writeCSVFile(filepath.Join(dir, "orgs.csv"), false, func(w *csv.Writer) error {
			return w.WriteAll([][]string{orgsHeader, {schoolID, "active", mod, "Synthetic Academy", "school", "999-9999", ""}})
		}),
		writeCSVFile(filepath.Join(dir, "academicSessions.csv"), false, func(w *csv.Writer) error {
			return w.WriteAll([][]string{sessionsHeader, {sessionID, "active", mod, "2026/27", "schoolYear", "2026-09-01", "2027-07-31", "", "2027"}})
		}),
	)
	if err != nil {
		return err
	}
	// Every class any person is in, in a stable order, so that a bulk and a
	// delta agree on the ids.
	type class struct{ code, grade string }
	seen := map[string]bool{}
	var homerooms, scheduled []class
	all := people
	if delta != nil {
		all = append(slices.Clone(people), delta.beforeMovers()...)
	}
	for _, p := range all {
		if p.RegGroup != "" && !seen[p.RegGroup] {
			seen[p.RegGroup] = true
			homerooms = append(homerooms, class{p.RegGroup, grade(p.YearGroup)})
		}
		for _, c := range p.Classes {
			if !seen[c] {
				seen[c] = true
				scheduled = append(scheduled, class{c, grade(p.YearGroup)})
			}
		}
	}
	if err := writeCSVFile(filepath.Join(dir, "classes.csv"), false, func(w *csv.Writer) error {
		if err := w.Write(classesHeader); err != nil {
			return err
		}
		for _, set := range []struct {
			kind    string
			classes []class
		}{{"homeroom", homerooms}, {"scheduled", scheduled}} {
			for _, c := range set.classes {
				if err := w.Write([]string{"cls-" + c.code, "active", mod, c.code, c.grade, "crs-" + c.code, c.code, set.kind, "", schoolID, sessionID, "", "", ""}); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	inDelta := func(string) bool { return true }
	if delta != nil {
		ids := delta.changed()
		inDelta = func(id string) bool { return ids[id] }
	}
	if err := writeCSVFile(filepath.Join(dir, "users.csv"), false, func(w *csv.Writer) error {
		if err := w.Write(usersHeader); err != nil {
			return err
		}
		for _, p := range people {
			if !inDelta(p.MISID) {
				continue
			}
			status := "active"
			if _, left := opt.Leaving[p.MISID]; left {
				status = "tobedeleted"
			}
			role, grades := "student", grade(p.YearGroup)
			if p.Staff {
				role, grades = "teacher", ""
			}
			if err := w.Write([]string{p.MISID, status, mod, "true", schoolID, role, "", "", p.GivenName, p.FamilyName, "", p.MISID, p.Email, "", "", "", grades, ""}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return writeCSVFile(filepath.Join(dir, "enrollments.csv"), false, func(w *csv.Writer) error {
		if err := w.Write(enrollmentsHeader); err != nil {
			return err
		}
		enrol := func(p schoolgen.Person, codes []string, status string) error {
			role := "student"
			if p.Staff {
				role = "teacher"
			}
			for _, c := range codes {
				if c == "" {
					continue
				}
				if err := w.Write([]string{"enr-" + p.MISID + "-" + c, status, mod, "cls-" + c, schoolID, p.MISID, role, "false", "2026-09-01", "2027-07-31"}); err != nil {
					return err
				}
			}
			return nil
		}
		if delta == nil {
			for _, p := range people {
				if err := enrol(p, append([]string{p.RegGroup}, p.Classes...), "active"); err != nil {
					return err
				}
			}
			return nil
		}
		return delta.enrolmentChanges(people, enrol)
	})
}

// grade is the CEDS grade code of a year group: "7" → "07", "R" → "KG".
func grade(year string) string {
	switch year {
	case "":
		return ""
	case "R":
		return "KG"
	}
	if len(year) == 1 {
		return "0" + year
	}
	return year
}

// csvHeader is the header of WriteCSV's report, as SIMS prints one.
var csvHeader = []string{"Adno", "Legal Surname", "Legal Forename", "Preferred Forename", "Year", "Reg", "Type", "Start", "Leaving", "Email", "Classes"}

// Mapping is the [sync.csv] mapping of the report WriteCSV writes.
func Mapping() lifecycle.CSVMapping {
	return lifecycle.CSVMapping{
		ID: "Adno", GivenName: "Legal Forename", FamilyName: "Legal Surname", PreferredName: "Preferred Forename",
		Role: "Type", StaffValues: []string{"Staff"}, PupilValues: []string{"Student"},
		YearGroup: "Year", RegGroup: "Reg", StartDate: "Start", LeaveDate: "Leaving", Email: "Email", Classes: "Classes",
	}
}

// WriteCSV writes people as an MIS CSV report: a byte-order mark, CRLF
// line ends, "Year 7" year groups and DD/MM/YYYY dates, the way Windows
// MIS clients save them.
func WriteCSV(w io.Writer, people []schoolgen.Person, opt Options) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString("\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	row := make([]string, len(csvHeader))
	for _, p := range people {
		role, year := "Student", "Year "+p.YearGroup
		if p.Staff {
			role, year = "Staff", ""
		}
		if p.YearGroup == "R" {
			year = "Reception"
		}
		leaving := ""
		if d, ok := opt.Leaving[p.MISID]; ok {
			leaving = d.Format("02/01/2006")
		}
		classes := ""
		for i, c := range p.Classes {
			if i > 0 {
				classes += ";"
			}
			classes += c
		}
		row = append(row[:0], p.MISID, p.FamilyName, p.GivenName, "", year, p.RegGroup, role, p.StartDate.Format("02/01/2006"), leaving, p.Email, classes)
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteCSVFile writes WriteCSV's report to path.
func WriteCSVFile(path string, people []schoolgen.Person, opt Options) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, private.FileMode)
	if err != nil {
		return err
	}
	if err := WriteCSV(f, people, opt); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func writeCSVFile(path string, crlf bool, write func(*csv.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, private.FileMode)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	w := csv.NewWriter(bw)
	w.UseCRLF = crlf
	err = write(w)
	w.Flush()
	err = errors.Join(err, w.Error(), bw.Flush(), f.Close())
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
