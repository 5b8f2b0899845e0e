package lifecycle

import (
	"errors"
	"fmt"
	"strings"

	"keystage.dev/keystage/directory"
)

// CSVMapping says which column of a CSV report from the MIS holds what,
// each column named by its header as the report prints it (case, spaces
// and punctuation do not matter: "Adno", "ADNO" and "Ad No" are one). It is
// the [sync.csv] section of the configuration.
type CSVMapping struct {
	ID string `toml:"id"` // the MIS id: never reused, never changes (UPN, admission number, staff code)
	// IDPrefix is put before every id read, so that the ids of two reports
	// read together cannot clash ("staff-" before staff codes).
	IDPrefix      string `toml:"id_prefix"`
	GivenName     string `toml:"given_name"`     // legal forename
	FamilyName    string `toml:"family_name"`    // legal surname
	PreferredName string `toml:"preferred_name"` // optional: preferred forename
	Email         string `toml:"email"`          // optional

	// Role is the column that says staff or pupil, and StaffValues and
	// PupilValues the values in it that mean each (compared without case).
	// SkipValues are values whose rows are people without accounts
	// (contacts, parents): passed over, not refused. A file that holds one
	// role only sets FixedRole ("staff" or "pupil") instead of Role.
	Role        string         `toml:"role"`
	StaffValues []string       `toml:"staff_values"` // default: Staff, Teacher, Support staff
	PupilValues []string       `toml:"pupil_values"` // default: Student, Pupil
	SkipValues  []string       `toml:"skip_values"`
	FixedRole   directory.Role `toml:"fixed_role"`

	YearGroup string `toml:"year_group"` // optional: "Year 7", "Yr 7", "7", "Reception"
	RegGroup  string `toml:"reg_group"`  // optional: "7A"
	// Classes is an optional column listing teaching groups, separated by
	// ClassSeparator (default ";").
	Classes        string `toml:"classes"`
	ClassSeparator string `toml:"class_separator"`
	StartDate      string `toml:"start_date"` // optional
	LeaveDate      string `toml:"leave_date"` // optional
	// DateLayouts are the Go layouts dates are written in, tried in order
	// (default DefaultDateLayouts: 02/01/2006, 2006-01-02, 02-01-2006,
	// 2/1/2006).
	DateLayouts []string `toml:"date_layouts"`
}

// Validate reports every problem with the mapping at once, each saying
// which key to set.
func (m CSVMapping) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBadMapping}, a...)...))
	}
	if strings.TrimSpace(m.ID) == "" {
		bad("id is not set: name the column that holds the MIS id (for example id = \"UPN\" or \"Adno\")")
	}
	if strings.TrimSpace(m.GivenName) == "" {
		bad("given_name is not set: name the column that holds the forename (for example given_name = \"Legal Forename\")")
	}
	if strings.TrimSpace(m.FamilyName) == "" {
		bad("family_name is not set: name the column that holds the surname (for example family_name = \"Legal Surname\")")
	}
	switch {
	case m.Role == "" && m.FixedRole == "":
		bad("neither role nor fixed_role is set: name the role column (role = \"Type\"), or set fixed_role = \"pupil\" or \"staff\" for a file of one role")
	case m.Role != "" && m.FixedRole != "":
		bad("both role (%q) and fixed_role (%q) are set: keep one", m.Role, m.FixedRole)
	case m.FixedRole != "" && m.FixedRole != directory.RoleStaff && m.FixedRole != directory.RolePupil:
		bad("fixed_role %q is neither \"staff\" nor \"pupil\"", m.FixedRole)
	}
	seen := map[string]string{}
	for _, set := range []struct {
		key    string
		values []string
	}{{"staff_values", m.staffValues()}, {"pupil_values", m.pupilValues()}, {"skip_values", m.SkipValues}} {
		for _, v := range set.values {
			k := strings.ToLower(strings.TrimSpace(v))
			if k == "" {
				bad("%s holds an empty value: remove it", set.key)
				continue
			}
			if other, dup := seen[k]; dup && other != set.key {
				bad("%q is in both %s and %s: keep it in one", v, other, set.key)
			}
			seen[k] = set.key
		}
	}
	for _, l := range m.DateLayouts {
		if !validLayout(l) {
			bad("date layout %q is not a Go date layout: write the date 2 January 2006 as the MIS prints it, for example \"02/01/2006\" for DD/MM/YYYY", l)
		}
	}
	return errors.Join(errs...)
}

func (m CSVMapping) staffValues() []string {
	if len(m.StaffValues) == 0 {
		return []string{"Staff", "Teacher", "Support staff"}
	}
	return m.StaffValues
}

func (m CSVMapping) pupilValues() []string {
	if len(m.PupilValues) == 0 {
		return []string{"Student", "Pupil"}
	}
	return m.PupilValues
}

func (m CSVMapping) dateLayouts() []string {
	if len(m.DateLayouts) == 0 {
		return DefaultDateLayouts
	}
	return m.DateLayouts
}

func (m CSVMapping) classSeparator() string {
	if m.ClassSeparator == "" {
		return ";"
	}
	return m.ClassSeparator
}
