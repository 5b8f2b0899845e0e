package directory

import (
	"fmt"
	"strings"
	"time"
)

// Role is what an account is for. It decides the password policy, the AUP
// audience and the default groups.
type Role string

// The roles.
const (
	RoleStaff   Role = "staff"
	RolePupil   Role = "pupil"
	RoleGuest   Role = "guest"
	RoleService Role = "service"
)

// ParseRole accepts one of the roles above.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleStaff, RolePupil, RoleGuest, RoleService:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q: use staff, pupil, guest or service", s)
}

// Status is the lifecycle state of an account. Whether it may be used at a
// given instant is the gate's decision, which also weighs dates,
// suspensions and signatures.
type Status string

// The statuses.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// Source says who owns an account or group: the MIS sync, or people by hand.
// A sync never touches what it does not own.
type Source string

// The sources.
const (
	SourceMIS    Source = "mis"
	SourceManual Source = "manual"
)

// Account is a person's (or a service's) account.
type Account struct {
	ID       int64
	UUID     string // entryUUID, stable for life
	Username string
	Role     Role
	Source   Source
	MISID    string // the anchor that matches a person across MIS runs; empty for manual accounts
	// School is the id of the trust's school the account belongs to; empty
	// for the trust's own (central staff) and for every account of a single
	// school. AlsoSchools are the other schools of a pupil on the roll of
	// more than one (dual registration): one account, in each scope.
	School      string
	AlsoSchools []string

	// GivenName and FamilyName are the legal names, as the MIS holds
	// them; DisplayName, when set, is the name people see (from the MIS's
	// preferred forename: "Jack Smith" for a legal John Smith).
	GivenName   string
	FamilyName  string
	DisplayName string
	// LegalNameWithheld keeps the legal name out of the register and the
	// subject access export (an adopted or looked-after child): they show
	// the name people see instead.
	LegalNameWithheld bool
	Email             string
	YearGroup         string // pupils: "R", "1" … "13"
	RegGroup          string // pupils: registration group, "7A"

	StartDate time.Time // first day of access; zero: from creation
	LeaveDate time.Time // last day of access; zero: none set

	Status        Status
	DisabledAt    time.Time // when the account was disabled; zero while active
	DisableReason string

	// MustChangePassword makes the gate refuse LDAP and Wi-Fi until the
	// password is changed in the portal.
	MustChangePassword bool

	// POSIX attributes, allocated once and never reused.
	UIDNumber     int64
	GIDNumber     int64
	HomeDirectory string
	LoginShell    string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Name is how a person is addressed: the display name if set, else given
// and family name.
func (a Account) Name() string {
	if a.DisplayName != "" {
		return a.DisplayName
	}
	switch {
	case a.GivenName == "":
		return a.FamilyName
	case a.FamilyName == "":
		return a.GivenName
	}
	return a.GivenName + " " + a.FamilyName
}

// ShownNames are the given and family parts of the name shown, for
// directory attributes that applications display (LDAP givenName and sn:
// Moodle and the like show them as the person's name). John Smith who goes
// by Jack is given "Jack", family "Smith". For a person whose legal name is
// withheld they come from the name shown alone, so that no legal name
// reaches an application.
func (a Account) ShownNames() (given, family string) {
	if a.DisplayName == "" {
		if a.LegalNameWithheld {
			return "", ""
		}
		return a.GivenName, a.FamilyName
	}
	if !a.LegalNameWithheld {
		if g, ok := strings.CutSuffix(a.DisplayName, " "+a.FamilyName); ok && a.FamilyName != "" && g != "" {
			return g, a.FamilyName
		}
		return a.GivenName, a.FamilyName
	}
	if i := strings.LastIndexByte(a.DisplayName, ' '); i > 0 {
		return a.DisplayName[:i], a.DisplayName[i+1:]
	}
	return a.DisplayName, ""
}

// LegalName is the person's legal name (given and family), for the places
// that need it (the register, the subject access export); empty when it
// is withheld.
func (a Account) LegalName() string {
	if a.LegalNameWithheld {
		return ""
	}
	return a.givenFamily()
}

// givenFamily is given and family name, whatever the display name.
func (a Account) givenFamily() string {
	switch {
	case a.GivenName == "":
		return a.FamilyName
	case a.FamilyName == "":
		return a.GivenName
	}
	return a.GivenName + " " + a.FamilyName
}

// Validate reports what is wrong with a before it is stored.
func (a Account) Validate() error {
	if err := ValidUsername(a.Username); err != nil {
		return err
	}
	if _, err := ParseRole(string(a.Role)); err != nil {
		return err
	}
	switch a.Source {
	case SourceMIS, SourceManual:
	default:
		return fmt.Errorf("account %s: unknown source %q", a.Username, a.Source)
	}
	switch a.Status {
	case StatusActive, StatusDisabled:
	default:
		return fmt.Errorf("account %s: unknown status %q", a.Username, a.Status)
	}
	for _, id := range append([]string{a.School}, a.AlsoSchools...) {
		if id != "" {
			if err := ValidSchoolID(id); err != nil {
				return fmt.Errorf("account %s: %w", a.Username, err)
			}
		}
	}
	if !a.StartDate.IsZero() && !a.LeaveDate.IsZero() && a.LeaveDate.Before(a.StartDate) {
		return fmt.Errorf("account %s: leave date %s is before start date %s", a.Username, FormatDate(a.LeaveDate), FormatDate(a.StartDate))
	}
	return nil
}

// ValidUsername accepts what LDAP DNs, POSIX logins and RADIUS User-Names
// can all carry without escaping: lower-case letters, digits, '.', '-' and
// '_', starting with a letter or digit and holding at least one letter (an
// all-digit name would read as a uid number), 1 to 64 characters.
func ValidUsername(s string) error {
	if len(s) == 0 || len(s) > 64 {
		return fmt.Errorf("name %q: must be 1 to 64 characters", s)
	}
	letters := 0
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			letters++
		case c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '-' || c == '_'):
		default:
			return fmt.Errorf("name %q: use lower-case letters, digits, '.', '-' and '_', starting with a letter or digit", s)
		}
	}
	if letters == 0 {
		return fmt.Errorf("name %q: must hold at least one letter", s)
	}
	return nil
}

// DateLayout is how dates are written in configuration, CSV and storage.
const DateLayout = "2006-01-02"

// ParseDate reads a YYYY-MM-DD date; the empty string is the zero time.
func ParseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

// FormatDate writes a date as YYYY-MM-DD; the zero time is "".
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(DateLayout)
}
