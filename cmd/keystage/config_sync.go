package main

import (
	"reflect"
	"sort"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
)

// SyncSection configures the MIS sync and the leaver job.
type SyncSection struct {
	// Source is the default --from: oneroster:PATH (a folder or .zip) or
	// csv:PATH (read through the [sync.csv] mapping).
	Source string `toml:"source"`
	// Usernames is the username pattern by role (pupil, staff).
	Usernames map[string]string `toml:"usernames"`
	// Reserved are words never generated inside a username.
	Reserved []string `toml:"reserved"`
	// MaxUsername bounds a generated username before a collision number.
	MaxUsername int `toml:"max_username"`
	// MassChange is the share (0.05 is 5%) of MIS accounts a run may
	// disable, and of source rows it may lose since the last sync.
	MassChange float64 `toml:"mass_change"`
	// MissingRuns is how many bulk exports in a row a person may be absent
	// from before becoming a leaver.
	MissingRuns int `toml:"missing_runs"`
	// RetentionDays is how long a disabled account is kept before the
	// leaver job purges it, and how long a purged username is not reused;
	// 0 keeps them for ever.
	RetentionDays int `toml:"retention_days"`
	// Grace rules keep leavers' access past their leave date.
	Grace []GraceRule `toml:"grace"`
	// SyncEvery and LeaversEvery run the jobs from keystage serve (0: off).
	SyncEvery    duration `toml:"sync_every"`
	LeaversEvery duration `toml:"leavers_every"`
	// CSV is the column mapping of a csv: source.
	CSV lifecycle.CSVMapping `toml:"csv"`
	// Reports are further CSV reports read with the source as one export
	// ([[sync.reports]]: pupils and staff reported apart).
	Reports []lifecycle.CSVReport `toml:"reports"`
	// OneRoster says how a oneroster: source's grade codes become year
	// groups ([sync.oneroster]).
	OneRoster lifecycle.GradeMapping `toml:"oneroster"`
}

// readOptions is how the readers read the configured source.
func (s *SyncSection) readOptions(loc *time.Location) lifecycle.ReadOptions {
	return lifecycle.ReadOptions{Mapping: s.CSV, Location: loc, Reports: s.Reports, Grades: s.OneRoster}
}

// GraceRule is one [[sync.grace]] table.
type GraceRule struct {
	Role  string `toml:"role"`
	Year  string `toml:"year"`
	Until string `toml:"until"`
	Days  int    `toml:"days"`
}

func defaultSync() SyncSection {
	return SyncSection{
		Usernames:     map[string]string{"pupil": "{yy}{g}{family}", "staff": "{g}{family}"},
		MaxUsername:   20,
		MassChange:    0.05,
		MissingRuns:   3,
		RetentionDays: 365,
	}
}

// policy is the lifecycle's view of the section.
func (s *SyncSection) policy(loc *time.Location) lifecycle.Policy {
	p := lifecycle.Policy{Usernames: map[directory.Role]string{}, Reserved: s.Reserved, MaxUsername: s.MaxUsername,
		MassChange: s.MassChange, MissingRuns: s.MissingRuns, Retention: time.Duration(s.RetentionDays) * 24 * time.Hour, Location: loc}
	for r, pat := range s.Usernames {
		p.Usernames[directory.Role(r)] = pat
	}
	for _, g := range s.Grace {
		p.Grace = append(p.Grace, lifecycle.Grace{Role: directory.Role(g.Role), Year: g.Year, Until: g.Until, Days: g.Days})
	}
	return p
}

func (s *SyncSection) validate(p *problems) {
	roles := make([]string, 0, len(s.Usernames))
	for r := range s.Usernames {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		if r != "pupil" && r != "staff" {
			p.add("sync.usernames.%s: the sync makes pupil and staff accounts only", r)
		}
	}
	if s.MissingRuns < 1 {
		p.add("sync.missing_runs %d: must be at least 1", s.MissingRuns)
	}
	if s.RetentionDays < 0 {
		p.add("sync.retention_days %d: must not be negative (0 keeps accounts for ever)", s.RetentionDays)
	}
	if s.MassChange <= 0 || s.MassChange > 1 {
		p.add("sync.mass_change %v: want a share above 0 and at most 1 (0.05 is 5%%)", s.MassChange)
	}
	if s.SyncEvery.Duration < 0 || s.LeaversEvery.Duration < 0 {
		p.add("sync.sync_every and sync.leavers_every must not be negative (0 is off)")
	}
	if s.SyncEvery.Duration > 0 && s.Source == "" {
		p.add("sync.sync_every is set but sync.source is empty: name the export, e.g. oneroster:/srv/mis/export")
	}
	for _, g := range s.Grace {
		if g.Role != "" && g.Role != "pupil" && g.Role != "staff" {
			p.add("sync.grace role %q: use pupil or staff, or leave it out", g.Role)
		}
	}
	// The mapping is checked here, not first by the sync: a [sync.csv]
	// that is written, or a csv: source, must be a mapping the sync takes.
	if !reflect.ValueOf(s.CSV).IsZero() || strings.HasPrefix(s.Source, "csv:") {
		if err := s.CSV.Validate(); err != nil {
			for _, e := range unjoin(err) {
				p.add("sync.csv: %v", e)
			}
		}
	}
	for i, r := range s.Reports {
		if r.Path == "" {
			p.add("sync.reports %d: path is empty", i+1)
		}
		if err := r.Mapping.Validate(); err != nil {
			p.add("sync.reports %d (%s): %v", i+1, r.Path, err)
		}
	}
	for _, msg := range s.OneRoster.Validate() {
		p.add("sync.oneroster: %s", msg)
	}
	for _, msg := range s.policy(nil).Validate() {
		p.add("sync: %s", msg)
	}
}

const exampleSync = `
[sync]
# The MIS export: oneroster:/srv/mis/export (a OneRoster 1.1/1.2 CSV folder
# or .zip) or csv:/srv/mis/report.csv (read through [sync.csv] below).
source = ""
# Words never generated inside a username.
reserved = []
max_username = 20       # longest generated username before a collision number
mass_change = 0.05      # refuse a run that disables more than 5% of MIS accounts, or loses 5% of rows
missing_runs = 3        # bulk exports in a row a person may be absent from before becoming a leaver
retention_days = 365    # purge accounts disabled this long; purged usernames are not reused meanwhile (0: never)
sync_every = "0s"       # keystage serve runs the sync this often (e.g. "1h"; 0s: off)
leavers_every = "0s"    # and the leaver job (e.g. "24h"; 0s: off)

# Username pattern by role. Tokens: {yy} {yyyy} (year of the start date),
# {g} {given} (first letter, whole given name), {f} {family}, {id} (MIS id).
# Names are folded to ASCII; a clash gets 2, 3, … appended.
[sync.usernames]
pupil = "{yy}{g}{family}"   # 26jsmith
staff = "{g}{family}"       # jsmith

# Leavers keep access past their leave date by the first rule that matches:
# until a day (MM-DD) next on or after the leave date, or for some days.
# [[sync.grace]]
# role = "pupil"
# year = "11"
# until = "09-30"

# How a oneroster: source's grade codes become year groups. The default
# reads the grade as the UK year ("07" is Year 7, KG is Reception); an
# exporter that writes US grades needs grade_offset = 1 (grade 06 is Year 7).
# The plan's first lines show what each grade became: check them.
[sync.oneroster]
grade_offset = 0
# grade_years = { "PS" = "N" }   # a code mapped outright

# The columns of a csv: source, by their header.
[sync.csv]
# id = "Adno"
# given_name = "Legal Forename"
# family_name = "Legal Surname"
# preferred_name = "Preferred Forename"
# role = "Type"                 # or fixed_role = "pupil"
# year_group = "Year"
# reg_group = "Reg"
# start_date = "Date of Admission"
# leave_date = "Date of Leaving"
# email = "Email"
`

// unjoin splits an errors.Join into its errors, so that each is a problem
// of its own line.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
