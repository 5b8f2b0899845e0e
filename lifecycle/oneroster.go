package lifecycle

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// OneRoster reads a OneRoster 1.1 or 1.2 CSV export (bulk or delta), a
// folder or a .zip holding manifest.csv and users.csv, with classes.csv and
// enrollments.csv for classes and registration groups, and 1.2's roles.csv
// for roles. Rostering services and MIS connectors write these; the
// 1EdTech specification is followed, with the deviations real exporters
// make (upper-case TRUE, day-first dates, misspelt headers) accepted.
type OneRoster struct {
	Path     string
	Location *time.Location
	Grades   GradeMapping
	// Orgs reads the people's orgs as well (Export.Orgs), for a trust.
	Orgs bool
}

// Read reads the export.
func (o *OneRoster) Read(ctx context.Context) (*Export, error) {
	fsys, closeFS, err := openExportFS(o.Path)
	if err != nil {
		return nil, err
	}
	defer closeFS()
	exp, err := readOneRosterWith(ctx, fsys, o.Location, o.Grades)
	if err != nil {
		return nil, fmt.Errorf("oneroster %s: %w", o.Path, err)
	}
	if o.Orgs {
		m, err := readManifest(fsys)
		if err != nil {
			return nil, fmt.Errorf("oneroster %s: %w", o.Path, err)
		}
		if exp.Orgs, err = readOneRosterOrgs(ctx, fsys, m); err != nil {
			return nil, fmt.Errorf("oneroster %s: orgs: %w", o.Path, err)
		}
	}
	exp.Source = "oneroster:" + o.Path
	return exp, nil
}

// orClass is a class as the person's groups need it.
type orClass struct {
	code     string
	homeroom bool
	deleted  bool
}

// orEnrolment is what enrollments.csv says of one person.
type orEnrolment struct {
	classes []int32 // index into classes
	left    []int32
}

// roleKind sorts OneRoster's role vocabulary into what Keystage does
// with it.
type roleKind int

const (
	roleUnknown roleKind = iota
	roleStaff
	rolePupil
	roleNoAccount // parents, guardians, relatives: people, not accounts
)

func oneRosterRole(s string) roleKind {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "student":
		return rolePupil
	case "teacher", "administrator", "aide", "proctor", "principal", "siteadministrator", "districtadministrator", "systemadministrator", "counselor":
		return roleStaff
	case "parent", "guardian", "relative":
		return roleNoAccount
	}
	return roleUnknown
}

// readOneRoster reads an export from fsys.
func readOneRoster(ctx context.Context, fsys fs.FS, loc *time.Location) (*Export, error) {
	return readOneRosterWith(ctx, fsys, loc, GradeMapping{})
}

// readOneRosterWith reads an export from fsys, turning grades into year
// groups by g.
func readOneRosterWith(ctx context.Context, fsys fs.FS, loc *time.Location, g GradeMapping) (*Export, error) {
	m, err := readManifest(fsys)
	if err != nil {
		return nil, err
	}
	exp := &Export{Delta: m.mode("users") == "delta"}
	if m.mode("users") == "absent" {
		if slices.Contains(valuesOf(m.files), "delta") {
			// A delta in which no person changed.
			exp.Delta = true
			return exp, nil
		}
		return nil, fmt.Errorf("%w: manifest.csv says file.users is absent; Keystage needs users.csv: export the users too", ErrBadExport)
	}
	classes, classIdx, err := readOneRosterClasses(ctx, fsys, m)
	if err != nil {
		return nil, err
	}
	enrolled, err := readOneRosterEnrolments(ctx, fsys, m, classes, classIdx)
	if err != nil {
		return nil, err
	}
	roles, haveRoles, err := readOneRosterRoles(ctx, fsys, m)
	if err != nil {
		return nil, err
	}
	if err := readOneRosterUsers(ctx, fsys, m, loc, exp, oneRosterLinks{classes, enrolled, roles, haveRoles, g}); err != nil {
		return nil, err
	}
	// Without every enrolment, or without the classes that name them, a
	// person's classes are not all told.
	exp.ClassesPartial = m.mode("enrollments") != "bulk" || m.mode("classes") == "absent"
	return exp, nil
}

func valuesOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func readOneRosterClasses(ctx context.Context, fsys fs.FS, m manifest) ([]orClass, map[string]int32, error) {
	idx := map[string]int32{}
	t, ok, err := openListed(fsys, m, "classes")
	if err != nil || !ok {
		return nil, idx, err
	}
	defer t.close()
	if err := requireCols(t, []string{"sourcedId"}); err != nil {
		return nil, nil, err
	}
	sc, stc, cc, tc, typ := t.col("sourcedId"), t.col("status"), t.col("classCode"), t.col("title"), t.col("classType")
	var classes []orClass
	// A class row that cannot be read leaves its enrolments unnamed, not
	// the people: it is passed over.
	err = t.each(ctx, nil, func(row []string, _ int) error {
		id := field(row, sc)
		if id == "" {
			return nil
		}
		c := orClass{code: field(row, cc), homeroom: strings.EqualFold(field(row, typ), "homeroom"), deleted: strings.EqualFold(field(row, stc), "tobedeleted")}
		if c.code == "" {
			c.code = field(row, tc)
		}
		if c.code == "" {
			c.code = id
		}
		idx[id] = int32(len(classes))
		classes = append(classes, c)
		return nil
	})
	return classes, idx, err
}

func readOneRosterEnrolments(ctx context.Context, fsys fs.FS, m manifest, classes []orClass, classIdx map[string]int32) (map[string]*orEnrolment, error) {
	out := map[string]*orEnrolment{}
	if len(classes) == 0 {
		return out, nil
	}
	t, ok, err := openListed(fsys, m, "enrollments")
	if err != nil || !ok {
		return out, err
	}
	defer t.close()
	if err := requireCols(t, []string{"classSourcedId"}, []string{"userSourcedId"}); err != nil {
		return nil, err
	}
	cc, uc, sc := t.col("classSourcedId"), t.col("userSourcedId"), t.col("status")
	err = t.each(ctx, nil, func(row []string, _ int) error {
		ci, known := classIdx[field(row, cc)]
		user := field(row, uc)
		if !known || user == "" {
			return nil
		}
		e := out[user]
		if e == nil {
			e = &orEnrolment{}
			// A copy, so that the key does not hold the whole row in memory.
			out[strings.Clone(user)] = e
		}
		if strings.EqualFold(field(row, sc), "tobedeleted") || classes[ci].deleted {
			e.left = append(e.left, ci)
		} else {
			e.classes = append(e.classes, ci)
		}
		return nil
	})
	return out, err
}

// readOneRosterRoles reads 1.2's roles.csv: each person's primary role, or
// failing one, the secondary role that ranks highest, as the export words
// it.
func readOneRosterRoles(ctx context.Context, fsys fs.FS, m manifest) (map[string]string, bool, error) {
	out := map[string]string{}
	if m.version != "1.2" {
		return out, false, nil
	}
	t, ok, err := openListed(fsys, m, "roles")
	if err != nil || !ok {
		return out, false, err
	}
	defer t.close()
	if err := requireCols(t, []string{"userSourcedId"}, []string{"role"}); err != nil {
		return nil, false, err
	}
	uc, rc, tc, sc := t.col("userSourcedId"), t.col("role"), t.col("roleType"), t.col("status")
	primary := map[string]bool{}
	err = t.each(ctx, nil, func(row []string, _ int) error {
		user, role := field(row, uc), field(row, rc)
		if user == "" || strings.EqualFold(field(row, sc), "tobedeleted") {
			return nil
		}
		if primary[user] {
			return nil
		}
		if strings.EqualFold(field(row, tc), "primary") {
			primary[user] = true
			out[strings.Clone(user)] = role
			return nil
		}
		if old, seen := out[user]; !seen || rank(oneRosterRole(role)) > rank(oneRosterRole(old)) {
			out[strings.Clone(user)] = role
		}
		return nil
	})
	return out, true, err
}

// rank orders a person's secondary roles: a pupil account before a staff
// one (a sixth-former who is also a teaching aide logs in as a pupil and
// keeps pupil safeguards), either before none.
func rank(k roleKind) int {
	return [...]int{roleUnknown: 0, roleNoAccount: 1, roleStaff: 2, rolePupil: 3}[k]
}

type oneRosterLinks struct {
	classes   []orClass
	enrolled  map[string]*orEnrolment
	roles     map[string]string // 1.2: MIS id → role from roles.csv
	haveRoles bool
	grades    GradeMapping
}

// userCols is where each column of users.csv is (-1: absent).
type userCols struct{ id, status, modified, enabled, given, family, preferred, email, grades, role int }

func readOneRosterUsers(ctx context.Context, fsys fs.FS, m manifest, loc *time.Location, exp *Export, links oneRosterLinks) error {
	t, _, err := openListed(fsys, m, "users")
	if err != nil {
		return err
	}
	defer t.close()
	col, err := findUserCols(t, m, links)
	if err != nil {
		return err
	}
	u := &oneRosterUsers{col: col, links: links, loc: loc, exp: exp}
	dups := newDuplicates()
	err = t.each(ctx, func(re *rowError) {
		exp.Rows++
		exp.Refused = append(exp.Refused, Refusal{File: t.file, Line: re.Line, Reason: csvSyntaxReason(re)})
	}, func(row []string, line int) error {
		exp.Rows++
		id := field(row, col.id)
		// The refusal takes the id, not the record, so that the record
		// stays on the stack: at 200,000 rows that is a heap allocation a
		// row saved.
		if id == "" {
			exp.Refused = append(exp.Refused, Refusal{File: t.file, Line: line, Reason: "sourcedId is empty: every user needs the MIS's id"})
			return nil
		}
		if dups.seen(id, line) {
			return nil
		}
		r := Record{File: t.file, Line: line, MISID: id}
		why, skip := u.fill(&r, row)
		switch {
		case why != "":
			exp.Refused = append(exp.Refused, Refusal{File: t.file, Line: line, MISID: id, Reason: why})
		case !skip:
			exp.Records = append(exp.Records, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	dups.refuse(exp, t.file, "sourcedId")
	return nil
}

// findUserCols finds the columns of users.csv, refusing a file without
// the ones the sync needs.
func findUserCols(t *fsTable, m manifest, links oneRosterLinks) (userCols, error) {
	if err := requireCols(t, []string{"sourcedId"}, []string{"givenName"}, []string{"familyName"}); err != nil {
		return userCols{}, err
	}
	col := userCols{
		t.col("sourcedId"), t.col("status"), t.col("dateLastModified"), t.col("enabledUser"),
		t.col("givenName"), t.col("familyName"),
		// 1.2 calls it preferredGivenName (preferredFirstName in its REST
		// binding); exporters in the wild also write prefferedGivenName.
		t.col("preferredGivenName", "preferredFirstName", "prefferedGivenName", "prefferedFirstName"),
		t.col("email"), t.col("grades"), t.col("role"),
	}
	if col.role < 0 && !links.haveRoles {
		if m.version == "1.2" {
			return col, fmt.Errorf("%w: roles.csv is absent and %s has no role column: export roles.csv too (OneRoster 1.2 keeps roles there)", ErrBadExport, t.file)
		}
		return col, requireCols(t, []string{"role"})
	}
	return col, nil
}

// oneRosterUsers turns the rows of users.csv into records.
type oneRosterUsers struct {
	col   userCols
	links oneRosterLinks
	loc   *time.Location
	exp   *Export // its Delta, and the grades it counts
}

// fill completes r, whose MIS id is set, from row. why says why the row is
// refused; skip, without a why, that it makes no account.
func (u *oneRosterUsers) fill(r *Record, row []string) (why string, skip bool) {
	col := u.col
	if why := u.status(r, row); why != "" {
		return why, false
	}
	if why, skip := u.role(r, row); why != "" || skip {
		return why, skip
	}
	r.GivenName, r.FamilyName = field(row, col.given), field(row, col.family)
	if !r.Deleted && (r.GivenName == "" || r.FamilyName == "") {
		return missingName(r.GivenName, r.FamilyName, "givenName", "familyName") + ": the MIS must give both names", false
	}
	r.PreferredName = field(row, col.preferred)
	if why := namesProblem(r.GivenName, r.FamilyName, r.PreferredName); why != "" {
		return why, false
	}
	r.Email = field(row, col.email)
	u.year(r, row)
	u.classes(r)
	return "", false
}

// status reads whether the user is active, deleted or disabled, and when
// the row last changed; it says why the row is refused, or "".
func (u *oneRosterUsers) status(r *Record, row []string) string {
	switch st := field(row, u.col.status); strings.ToLower(st) {
	case "", "active":
	case "tobedeleted":
		r.Deleted = true
	case "inactive":
		// OneRoster 1.0's word, still written by some exporters.
		r.Disabled = true
	default:
		return fmt.Sprintf("status %q is not active or tobedeleted", st)
	}
	if s := field(row, u.col.modified); s != "" {
		mod, err := parseDate(s, oneRosterDateLayouts, u.loc)
		if err != nil {
			return fmt.Sprintf("dateLastModified %q is not a date or datetime (the specification writes 2026-09-03T18:25:43Z)", s)
		}
		r.Modified = mod
	}
	switch en := field(row, u.col.enabled); strings.ToLower(en) {
	case "", "true", "1", "yes":
	case "false", "0", "no":
		r.Disabled = true
	default:
		return fmt.Sprintf("enabledUser %q is neither true nor false", en)
	}
	return ""
}

// role reads the user's role from roles.csv (1.2) or the role column.
func (u *oneRosterUsers) role(r *Record, row []string) (why string, skip bool) {
	rawRole, where := u.links.roles[r.MISID], "roles.csv"
	if !u.links.haveRoles {
		rawRole, where = field(row, u.col.role), "the role column"
	}
	switch oneRosterRole(rawRole) {
	case roleNoAccount:
		return "", true
	case roleStaff:
		r.Role = directory.RoleStaff
	case rolePupil:
		r.Role = directory.RolePupil
	default:
		switch {
		case r.Deleted:
			// A delta's deletion row may carry nothing but the id.
		case u.exp.Delta && rawRole == "":
			// A delta that does not restate the role: the account keeps its own.
		case rawRole == "":
			return fmt.Sprintf("no role: give the user a role (student, teacher, administrator, aide) in %s", where), false
		default:
			return fmt.Sprintf("role %q is not a OneRoster role Keystage knows: use student, teacher, administrator, aide or proctor", rawRole), false
		}
	}
	return "", false
}

// year reads a pupil's year group from the first of its grades that the
// grade mapping knows, and counts the grade for the plan.
func (u *oneRosterUsers) year(r *Record, row []string) {
	// A delta row that does not restate the role may still give the
	// year: the account's role decides whether it counts.
	if r.Role != directory.RolePupil && r.Role != "" {
		return
	}
	var first string
	for g := range strings.SplitSeq(field(row, u.col.grades), ",") {
		if g = strings.TrimSpace(g); first == "" {
			first = g
		}
		if y := u.links.grades.Year(g); y != "" {
			r.YearGroup, first = y, g
			break
		}
	}
	if first != "" && r.Role == directory.RolePupil {
		u.exp.countGrade(first, r.YearGroup)
	}
}

// classes sets the user's classes, registration group and the classes
// it has left, from the enrolments.
func (u *oneRosterUsers) classes(r *Record) {
	e := u.links.enrolled[r.MISID]
	if e == nil {
		return
	}
	r.Classes = make([]string, 0, len(e.classes))
	for _, ci := range e.classes {
		c := u.links.classes[ci]
		if c.homeroom {
			if r.RegGroup == "" {
				r.RegGroup = c.code
			}
			continue
		}
		r.Classes = appendUnique(r.Classes, c.code)
	}
	for _, ci := range e.left {
		if c := u.links.classes[ci]; !c.homeroom {
			r.LeftClasses = appendUnique(r.LeftClasses, c.code)
		}
	}
}

// missingName says which of the two names is empty.
func missingName(given, family, gk, fk string) string {
	switch {
	case given == "" && family == "":
		return gk + " and " + fk + " are empty"
	case given == "":
		return gk + " is empty"
	default:
		return fk + " is empty"
	}
}

func appendUnique(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}
