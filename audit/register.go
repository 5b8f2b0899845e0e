package audit

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// RegisterRow is one person in the access register: "a current record of
// all staff and pupils who are granted access to the school's electronic
// communications". Zero times are left blank.
type RegisterRow struct {
	Name string // the name the person is known by (the preferred name)
	// LegalName is the legal name, for the auditor; "withheld" for a
	// person whose legal name is not shown.
	LegalName string
	Role      string
	YearGroup string
	RegGroup  string
	MISID     string
	Username  string
	State     string // active, disabled or purged
	// Access is "yes" when the gate would let the person sign in at the
	// register's date (lockouts aside), "no" when it would not, and ""
	// when that is not known (a register rebuilt as of a past date).
	Access        string
	AccessGranted time.Time
	AUPAudience   string
	AUPVersion    string
	AUPSigned     time.Time
	AUPMethod     string // portal or paper
	ConsentGiven  time.Time
	WiFiIssued    time.Time
	WiFiRevoked   time.Time
	Passkeys      int
	LastLDAP      time.Time
	LastWiFi      time.Time
	// Suspension in force at the register's date, if any.
	SuspendedFrom  time.Time
	SuspendedUntil time.Time // zero with SuspendedFrom set: until lifted
	SuspensionRef  string    // the incident reference
	LeaveDate      time.Time
	Disabled       time.Time
	Purged         time.Time
	// School is the person's school in a trust ("north", "north+south"
	// when on two rolls); empty for the trust's own and a single school.
	School string
}

// Register formats.
const (
	FormatCSV   = "csv"
	FormatJSON  = "json"  // one JSON array
	FormatJSONL = "jsonl" // one JSON object a line
	FormatXLSX  = "xlsx"
)

// ErrFormat is a register format that is not one of the above.
var ErrFormat = errors.New("unknown register format: use csv, json, jsonl or xlsx")

type column struct {
	head, key string
	get       func(r *RegisterRow, f fmtr) string
}

// fmtr writes dates and instants in the school's time zone.
type fmtr struct{ loc *time.Location }

func (f fmtr) date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(f.loc).Format("2006-01-02")
}

func (f fmtr) instant(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(f.loc).Format("2006-01-02 15:04")
}

var columns = []column{
	{"Name", "name", func(r *RegisterRow, _ fmtr) string { return r.Name }},
	{"Role", "role", func(r *RegisterRow, _ fmtr) string { return r.Role }},
	{"Year", "year_group", func(r *RegisterRow, _ fmtr) string { return r.YearGroup }},
	{"Registration group", "reg_group", func(r *RegisterRow, _ fmtr) string { return r.RegGroup }},
	{"MIS id", "mis_id", func(r *RegisterRow, _ fmtr) string { return r.MISID }},
	{"Username", "username", func(r *RegisterRow, _ fmtr) string { return r.Username }},
	{"State", "state", func(r *RegisterRow, _ fmtr) string { return r.State }},
	{"Access now", "access_now", func(r *RegisterRow, _ fmtr) string { return r.Access }},
	{"Access granted", "access_granted", func(r *RegisterRow, f fmtr) string { return f.date(r.AccessGranted) }},
	{"AUP audience", "aup_audience", func(r *RegisterRow, _ fmtr) string { return r.AUPAudience }},
	{"AUP version", "aup_version", func(r *RegisterRow, _ fmtr) string { return r.AUPVersion }},
	{"AUP signed", "aup_signed", func(r *RegisterRow, f fmtr) string { return f.date(r.AUPSigned) }},
	{"AUP signed how", "aup_method", func(r *RegisterRow, _ fmtr) string { return r.AUPMethod }},
	{"Parental consent", "consent_given", func(r *RegisterRow, f fmtr) string { return f.date(r.ConsentGiven) }},
	{"Wi-Fi credential issued", "wifi_issued", func(r *RegisterRow, f fmtr) string { return f.date(r.WiFiIssued) }},
	{"Wi-Fi credential revoked", "wifi_revoked", func(r *RegisterRow, f fmtr) string { return f.date(r.WiFiRevoked) }},
	{"Passkeys", "passkeys", func(r *RegisterRow, _ fmtr) string { return strconv.Itoa(r.Passkeys) }},
	{"Last LDAP use", "last_ldap", func(r *RegisterRow, f fmtr) string { return f.instant(r.LastLDAP) }},
	{"Last Wi-Fi use", "last_wifi", func(r *RegisterRow, f fmtr) string { return f.instant(r.LastWiFi) }},
	{"Suspended from", "suspended_from", func(r *RegisterRow, f fmtr) string { return f.instant(r.SuspendedFrom) }},
	{"Suspended until", "suspended_until", func(r *RegisterRow, f fmtr) string {
		if !r.SuspendedFrom.IsZero() && r.SuspendedUntil.IsZero() {
			return "until lifted"
		}
		return f.instant(r.SuspendedUntil)
	}},
	{"Incident reference", "incident_ref", func(r *RegisterRow, _ fmtr) string { return r.SuspensionRef }},
	{"Leave date", "leave_date", func(r *RegisterRow, f fmtr) string { return f.date(r.LeaveDate) }},
	{"Disabled", "disabled", func(r *RegisterRow, f fmtr) string { return f.date(r.Disabled) }},
	{"Purged", "purged", func(r *RegisterRow, f fmtr) string { return f.date(r.Purged) }},
	// Last, so that the columns before keep their places.
	{"Legal name", "legal_name", func(r *RegisterRow, _ fmtr) string { return r.LegalName }},
	{"School", "school", func(r *RegisterRow, _ fmtr) string { return r.School }},
}

// RegisterHeader is the column headings, in order.
func RegisterHeader() []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = c.head
	}
	return out
}

// RegisterWriter writes the register one row at a time; Close finishes the
// file (the JSON array's bracket, the XLSX's zip directory) and must be
// called once all rows are written.
type RegisterWriter interface {
	Write(r RegisterRow) error
	Close() error
}

// NewRegisterWriter writes the register in format to w, with dates in loc
// (nil: UTC).
func NewRegisterWriter(w io.Writer, format string, loc *time.Location) (RegisterWriter, error) {
	if loc == nil {
		loc = time.UTC
	}
	f := fmtr{loc: loc}
	switch format {
	case FormatCSV, "":
		return newCSVRegister(w, f)
	case FormatJSON:
		return &jsonRegister{w: bufio.NewWriter(w), f: f, array: true}, nil
	case FormatJSONL:
		return &jsonRegister{w: bufio.NewWriter(w), f: f}, nil
	case FormatXLSX:
		return newXLSXRegister(w, f)
	}
	return nil, fmt.Errorf("%w (not %q)", ErrFormat, format)
}

type csvRegister struct {
	w   *csv.Writer
	f   fmtr
	rec []string
}

// UTF8BOM starts every CSV file Keystage writes: without it Excel reads a
// CSV as the Windows code page and shows "Thị Lan" as "Thá»‹ Lan".
const UTF8BOM = "\ufeff"

func newCSVRegister(w io.Writer, f fmtr) (*csvRegister, error) {
	if _, err := io.WriteString(w, UTF8BOM); err != nil {
		return nil, err
	}
	c := &csvRegister{w: csv.NewWriter(w), f: f, rec: make([]string, len(columns))}
	if err := c.w.Write(RegisterHeader()); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *csvRegister) Write(r RegisterRow) error {
	for i, col := range columns {
		c.rec[i] = csvSafe(col.get(&r, c.f))
	}
	return c.w.Write(c.rec)
}

func (c *csvRegister) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// csvSafe stops a spreadsheet from running a name such as "=HYPERLINK(…)"
// from the MIS as a formula when an auditor opens the file.
func csvSafe(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

type jsonRegister struct {
	w     *bufio.Writer
	f     fmtr
	array bool
	n     int
}

func (j *jsonRegister) Write(r RegisterRow) error {
	switch {
	case j.array && j.n == 0:
		j.w.WriteString("[\n")
	case j.array:
		j.w.WriteString(",\n")
	}
	j.n++
	writeRowJSON(j.w, &r, j.f)
	if !j.array {
		j.w.WriteByte('\n')
	}
	if j.w.Buffered() > 32<<10 {
		return j.w.Flush()
	}
	return nil
}

func (j *jsonRegister) Close() error {
	if j.array {
		if j.n == 0 {
			j.w.WriteString("[")
		}
		j.w.WriteString("\n]\n")
	}
	return j.w.Flush()
}
