package lifecycle

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// MappedCSV reads a CSV report from the MIS (SIMS, Arbor and Bromcom all
// make one) through a column mapping: one row a person, the header naming
// the columns. UTF-8 with or without a byte-order mark, CRLF or LF, quoted
// fields holding commas and newlines, blank lines and trailing empty
// columns are all taken as MIS reports write them.
type MappedCSV struct {
	Path     string
	Mapping  CSVMapping
	Location *time.Location
}

// Read reads the file.
func (c *MappedCSV) Read(ctx context.Context) (*Export, error) {
	if err := c.Mapping.Validate(); err != nil {
		return nil, err
	}
	f, err := os.Open(c.Path)
	if err != nil {
		return nil, fmt.Errorf("csv %s: %w: check the path names the exported report", c.Path, err)
	}
	defer f.Close()
	exp, err := readMappedCSV(ctx, c.Path, f, c.Mapping, c.Location)
	if err != nil {
		return nil, fmt.Errorf("csv %s: %w", c.Path, err)
	}
	exp.Source = "csv:" + c.Path
	return exp, nil
}

// mappedCols is where each mapped column is in the file (-1: not mapped).
type mappedCols struct {
	id, given, family, preferred, email, role, year, reg, classes, start, leave int
}

// readMappedCSV reads a mapped CSV from r; file names it in refusals.
func readMappedCSV(ctx context.Context, file string, r io.Reader, m CSVMapping, loc *time.Location) (*Export, error) {
	t, err := newCSVTable(file, r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadExport, err)
	}
	t.findHeader(m.ID)
	col, err := mapColumns(t, file, m)
	if err != nil {
		return nil, err
	}
	rows := newMappedRows(m, col, loc)
	// A report without a classes column says nothing of classes: the sync
	// must neither add nor take any away.
	exp := &Export{ClassesPartial: m.Classes == ""}
	dups := newDuplicates()
	err = t.each(ctx, func(re *rowError) {
		exp.Rows++
		exp.Refused = append(exp.Refused, Refusal{File: file, Line: re.Line, Reason: csvSyntaxReason(re)})
	}, func(row []string, line int) error {
		exp.Rows++
		id := field(row, col.id)
		if id != "" {
			id = m.IDPrefix + id
		}
		// The refusal takes the id, not the record, so that the record
		// stays on the stack: at 200,000 rows that is a heap allocation a
		// row saved.
		if id == "" {
			exp.Refused = append(exp.Refused, Refusal{File: file, Line: line, Reason: fmt.Sprintf("the %s column (the MIS id) is empty: every row needs one", m.ID)})
			return nil
		}
		if dups.seen(id, line) {
			return nil
		}
		rec := Record{File: file, Line: line, MISID: id}
		why, skip := rows.fill(&rec, row)
		switch {
		case why != "":
			exp.Refused = append(exp.Refused, Refusal{File: file, Line: line, MISID: id, Reason: why})
		case !skip:
			exp.Records = append(exp.Records, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	dups.refuse(exp, file, "MIS id")
	return exp, nil
}

// mapColumns finds the columns the mapping names in t's header, and says
// which are missing.
func mapColumns(t *csvTable, file string, m CSVMapping) (mappedCols, error) {
	var missing []string
	find := func(key, header string) int {
		if header == "" {
			return -1
		}
		i := t.col(header)
		if i < 0 {
			missing = append(missing, fmt.Sprintf("%q (%s)", header, key))
		}
		return i
	}
	col := mappedCols{
		id: find("id", m.ID), given: find("given_name", m.GivenName), family: find("family_name", m.FamilyName),
		preferred: find("preferred_name", m.PreferredName), email: find("email", m.Email), role: find("role", m.Role),
		year: find("year_group", m.YearGroup), reg: find("reg_group", m.RegGroup), classes: find("classes", m.Classes),
		start: find("start_date", m.StartDate), leave: find("leave_date", m.LeaveDate),
	}
	if len(missing) > 0 {
		return col, fmt.Errorf("%w: %s has no column %s that the [sync.csv] mapping names; its header is %s: change the mapping or the report",
			ErrBadExport, file, strings.Join(missing, ", "), strings.Join(t.header, ","))
	}
	return col, nil
}

// mappedRows turns the rows of a mapped CSV into records.
type mappedRows struct {
	m       CSVMapping
	col     mappedCols
	roles   map[string]roleKind // lower-cased role value → what it makes
	layouts []string
	sep     string
	loc     *time.Location
}

func newMappedRows(m CSVMapping, col mappedCols, loc *time.Location) *mappedRows {
	roles := map[string]roleKind{}
	for _, v := range m.staffValues() {
		roles[strings.ToLower(strings.TrimSpace(v))] = roleStaff
	}
	for _, v := range m.pupilValues() {
		roles[strings.ToLower(strings.TrimSpace(v))] = rolePupil
	}
	for _, v := range m.SkipValues {
		roles[strings.ToLower(strings.TrimSpace(v))] = roleNoAccount
	}
	return &mappedRows{m: m, col: col, roles: roles, layouts: m.dateLayouts(), sep: m.classSeparator(), loc: loc}
}

// fill completes rec, whose MIS id is set, from row. why says why the row
// is refused; skip, without a why, that it makes no account (a role in
// skip_values).
func (mr *mappedRows) fill(rec *Record, row []string) (why string, skip bool) {
	m, col := mr.m, mr.col
	if rec.Role, why, skip = mr.role(row); why != "" || skip {
		return why, skip
	}
	rec.GivenName, rec.FamilyName = field(row, col.given), field(row, col.family)
	if rec.GivenName == "" || rec.FamilyName == "" {
		return missingName(rec.GivenName, rec.FamilyName, "the "+m.GivenName+" column", "the "+m.FamilyName+" column") + ": the MIS must give both names", false
	}
	rec.PreferredName = field(row, col.preferred)
	if why := namesProblem(rec.GivenName, rec.FamilyName, rec.PreferredName); why != "" {
		return why, false
	}
	rec.Email = field(row, col.email)
	if rec.Role == directory.RolePupil {
		y := field(row, col.year)
		yg, ok := normaliseYearGroup(y)
		if !ok {
			return fmt.Sprintf("year group %q is not one Keystage reads: write R, 1 to 13, \"Year 7\" or \"Yr 7\"", y), false
		}
		rec.YearGroup = yg
		rec.RegGroup = field(row, col.reg)
	}
	if s := field(row, col.classes); s != "" {
		for c := range strings.SplitSeq(s, mr.sep) {
			if c = strings.TrimSpace(c); c != "" {
				rec.Classes = appendUnique(rec.Classes, c)
			}
		}
	}
	return mr.dates(rec, row), false
}

// role reads the row's role: why says why it is refused; skip that the
// role makes no account.
func (mr *mappedRows) role(row []string) (role directory.Role, why string, skip bool) {
	m := mr.m
	if m.FixedRole != "" {
		return m.FixedRole, "", false
	}
	v := field(row, mr.col.role)
	switch mr.roles[strings.ToLower(v)] {
	case roleStaff:
		return directory.RoleStaff, "", false
	case rolePupil:
		return directory.RolePupil, "", false
	case roleNoAccount:
		return "", "", true
	}
	if v == "" {
		return "", fmt.Sprintf("the %s column (the role) is empty: it must say %s", m.Role, roleChoices(m)), false
	}
	return "", fmt.Sprintf("role %q is not one the mapping knows (%s): add it to staff_values, pupil_values or skip_values", v, roleChoices(m)), false
}

// dates reads the row's start and leave dates into rec, and says why they
// are refused, or "".
func (mr *mappedRows) dates(rec *Record, row []string) string {
	var why string
	if rec.StartDate, why = mr.date("start date", field(row, mr.col.start)); why != "" {
		return why
	}
	if rec.LeaveDate, why = mr.date("leave date", field(row, mr.col.leave)); why != "" {
		return why
	}
	if !rec.LeaveDate.IsZero() && !rec.StartDate.IsZero() && rec.LeaveDate.Before(rec.StartDate) {
		return fmt.Sprintf("leave date %s is before the start date %s: correct one of them in the MIS",
			rec.LeaveDate.Format(mr.layouts[0]), rec.StartDate.Format(mr.layouts[0]))
	}
	return ""
}

// date reads one date (the zero time when s is empty), or says why not.
func (mr *mappedRows) date(what, s string) (time.Time, string) {
	if s == "" {
		return time.Time{}, ""
	}
	v, err := parseDate(s, mr.layouts, mr.loc)
	if err != nil {
		return time.Time{}, fmt.Sprintf("%s %q is not a date: write it as %s", what, s, layoutExample(mr.layouts[0]))
	}
	return v, ""
}

// roleChoices lists the role values the mapping accepts, for a refusal.
func roleChoices(m CSVMapping) string {
	return strings.Join(append(append([]string{}, m.staffValues()...), m.pupilValues()...), ", ")
}
