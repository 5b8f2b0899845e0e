package directory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// School is one of a trust's schools: a scope that accounts, AUP documents
// and staff roles belong to. A Keystage with no schools configured is a
// single school, and every account and document has the empty school.
type School struct {
	ID   string // short, stable: what accounts and documents name ("north")
	Name string // what people see ("Northgate Academy")
}

// TrustScope is the AccountQuery.School value that selects the accounts of
// the trust itself (central staff), whose School is empty. It is not a
// valid school id.
const TrustScope = "trust"

// ErrOutOfScope means a person acted on someone outside their school: a
// school's technician on another school's pupil. The wrapping message says
// who and which schools.
var ErrOutOfScope = errors.New("outside your school")

// ValidSchoolID accepts a school's short id: lower-case letters, digits and
// '-', starting with a letter, 1 to 32 characters, not "trust".
func ValidSchoolID(id string) error {
	if id == "" || len(id) > 32 {
		return fmt.Errorf("school id %q: must be 1 to 32 characters", id)
	}
	if id == TrustScope {
		return fmt.Errorf("school id %q: reserved for the trust itself (its accounts have no school)", id)
	}
	for i, c := range id {
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return fmt.Errorf("school id %q: use lower-case letters, digits and '-', starting with a letter", id)
		}
	}
	return nil
}

// InSchool reports whether a is in the scope of school id: its own school,
// or one it is also registered at (dual registration).
func (a Account) InSchool(id string) bool {
	return a.School == id || slices.Contains(a.AlsoSchools, id)
}

// SchoolScope is what a person may act on: one school's accounts, or with the
// empty School every account of the trust.
type SchoolScope struct {
	School string
}

// Trust is the scope of the whole trust.
func (s SchoolScope) Trust() bool { return s.School == "" }

// Covers reports whether a is within the scope. The scope of TrustScope
// is the trust's own people (no school), as AccountQuery.School reads it.
func (s SchoolScope) Covers(a Account) bool {
	if s.School == TrustScope {
		return a.School == ""
	}
	return s.Trust() || a.InSchool(s.School)
}

// Check is nil when a is within the scope, else an ErrOutOfScope that says
// which school a belongs to.
func (s SchoolScope) Check(a Account) error {
	if s.Covers(a) {
		return nil
	}
	where := "the trust's central staff"
	if a.School != "" {
		where = "school " + a.School
	}
	return fmt.Errorf("%s belongs to %s, and you act for school %s: %w; ask someone at %s or the trust",
		a.Username, where, s.School, ErrOutOfScope, where)
}

// Query narrows q to the scope.
func (s SchoolScope) Query(q AccountQuery) AccountQuery {
	if !s.Trust() {
		q.School = s.School
	}
	return q
}

// DocumentsFor are the AUP documents that apply to an account of school:
// the trust's own (school "") and the school's. For each audience the
// newest of them is current (see CurrentDocument), so a school's new
// version asks only its own people to sign again, and a trust-wide new
// version asks everyone. A school's documents never apply to another
// school's accounts, so a person moved between schools signs the new
// school's version.
func DocumentsFor(docs []AUPDocument, school string) []AUPDocument {
	keep := true
	for _, d := range docs {
		if d.School != "" && d.School != school {
			keep = false
			break
		}
	}
	if keep {
		return docs
	}
	out := make([]AUPDocument, 0, len(docs))
	for _, d := range docs {
		if d.School == "" || d.School == school {
			out = append(out, d)
		}
	}
	return out
}

// FormatSchools writes a list of school ids (dual registrations) as the
// store keeps them: sorted, once each, space-separated.
func FormatSchools(ids []string) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), " ")
}

// ParseSchools reads what FormatSchools wrote.
func ParseSchools(s string) []string { return strings.Fields(s) }
