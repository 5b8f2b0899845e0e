package lifecycle

import (
	"archive/zip"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
}

// Read reads the export.
func (o *OneRoster) Read(ctx context.Context) (*Export, error) {
	fsys, closeFS, err := openExportFS(o.Path)
	if err != nil {
		return nil, err
	}
	defer closeFS()
	exp, err := readOneRoster(ctx, fsys, o.Location)
	if err != nil {
		return nil, fmt.Errorf("oneroster %s: %w", o.Path, err)
	}
	exp.Source = "oneroster:" + o.Path
	return exp, nil
}

// openExportFS opens a folder or a .zip as a file system rooted where
// manifest.csv is: at the top, or in the one folder a zip often wraps it in.
func openExportFS(p string) (fs.FS, func(), error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("oneroster %s: %w: check the path names the export folder or .zip", p, err)
	}
	var fsys fs.FS
	closeFS := func() {}
	if st.IsDir() {
		fsys = os.DirFS(p)
	} else {
		zr, err := zip.OpenReader(p)
		if err != nil {
			return nil, nil, fmt.Errorf("oneroster %s: %w: not a folder and not a zip file (%v)", p, ErrBadExport, err)
		}
		fsys, closeFS = zr, func() { _ = zr.Close() }
	}
	if _, ok := findFile(fsys, "manifest.csv"); !ok {
		if ents, err := fs.ReadDir(fsys, "."); err == nil && len(ents) == 1 && ents[0].IsDir() {
			if sub, err := fs.Sub(fsys, ents[0].Name()); err == nil {
				fsys = sub
			}
		}
	}
	return fsys, closeFS, nil
}

// findFile finds a file at the top of fsys whatever the case of its name
// (exporters write userProfiles.csv and userprofiles.csv).
func findFile(fsys fs.FS, name string) (string, bool) {
	if st, err := fs.Stat(fsys, name); err == nil && !st.IsDir() {
		return name, true
	}
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "", false
	}
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(e.Name(), name) {
			return e.Name(), true
		}
	}
	return "", false
}

// manifest is what manifest.csv says: the version and, per file, bulk,
// delta or absent.
type manifest struct {
	version string
	files   map[string]string // lower-case file name without .csv → "bulk", "delta", "absent"
}

func (m manifest) mode(file string) string {
	if v := m.files[strings.ToLower(file)]; v != "" {
		return v
	}
	return "absent"
}

func readManifest(fsys fs.FS) (manifest, error) {
	m := manifest{files: map[string]string{}}
	name, ok := findFile(fsys, "manifest.csv")
	if !ok {
		return m, fmt.Errorf("%w: manifest.csv is missing: every OneRoster CSV export has one at the top of the folder or zip; export again, whole", ErrBadExport)
	}
	t, err := openTable(fsys, name)
	if err != nil {
		return m, err
	}
	defer t.close()
	pc, vc := t.col("propertyName"), t.col("value")
	if pc < 0 || vc < 0 {
		return m, fmt.Errorf("%w: %s has no propertyName and value columns", ErrBadExport, name)
	}
	var broken error
	err = t.each(context.Background(), func(re *rowError) {
		broken = fmt.Errorf("%w: %s line %d: %v", ErrBadExport, name, re.Line, re.Err)
	}, func(row []string, line int) error {
		prop, val := strings.ToLower(field(row, pc)), strings.ToLower(field(row, vc))
		switch {
		case prop == "oneroster.version":
			m.version = strings.TrimPrefix(val, "v")
		case strings.HasPrefix(prop, "file."):
			switch val {
			case "bulk", "delta", "absent":
			case "":
				// Left empty by some exporters; the specification's word is absent.
				val = "absent"
			default:
				return fmt.Errorf("%w: %s line %d: %s is %q; the specification allows bulk, delta or absent", ErrBadExport, name, line, field(row, pc), field(row, vc))
			}
			m.files[strings.TrimPrefix(prop, "file.")] = val
		}
		return nil
	})
	if err = cmp.Or(err, broken); err != nil {
		return m, err
	}
	switch m.version {
	case "1.1", "1.2":
	case "":
		return m, fmt.Errorf("%w: %s does not give oneroster.version; Keystage reads OneRoster 1.1 and 1.2", ErrBadExport, name)
	default:
		return m, fmt.Errorf("%w: %s says oneroster.version %s; Keystage reads OneRoster 1.1 and 1.2: export in one of those", ErrBadExport, name, m.version)
	}
	return m, nil
}

// fsTable is a csvTable over a file of an export.
type fsTable struct {
	*csvTable
	f fs.File
}

func (t *fsTable) close() { _ = t.f.Close() }

func openTable(fsys fs.FS, name string) (*fsTable, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadExport, err)
	}
	t, err := newCSVTable(name, f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %v", ErrBadExport, err)
	}
	return &fsTable{csvTable: t, f: f}, nil
}

// openListed opens a file the manifest lists as bulk or delta; ok is false
// when the manifest says absent. A listed file that is not there is an
// error: the export is incomplete.
func openListed(fsys fs.FS, m manifest, base string) (*fsTable, bool, error) {
	if m.mode(base) == "absent" {
		return nil, false, nil
	}
	name, found := findFile(fsys, base+".csv")
	if !found {
		return nil, false, fmt.Errorf("%w: manifest.csv lists %s as %s but %s.csv is not in the export; export again, whole", ErrBadExport, base, m.mode(base), base)
	}
	t, err := openTable(fsys, name)
	if err != nil {
		return nil, false, err
	}
	return t, true, nil
}

// requireCols fails the read naming the first of each group of names when
// none of a group is in the header.
func requireCols(t *fsTable, groups ...[]string) error {
	var missing []string
	for _, g := range groups {
		if t.col(g...) < 0 {
			missing = append(missing, g[0])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s has no %s column; its header is %s", ErrBadExport, t.file, strings.Join(missing, ", "), strings.Join(t.header, ","))
	}
	return nil
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
	if err := readOneRosterUsers(ctx, fsys, m, loc, exp, oneRosterLinks{classes, enrolled, roles, haveRoles}); err != nil {
		return nil, err
	}
	exp.ClassesPartial = m.mode("enrollments") != "bulk"
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
			out[user] = e
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
// failing one, the role their other rows add up to.
func readOneRosterRoles(ctx context.Context, fsys fs.FS, m manifest) (map[string]roleKind, bool, error) {
	out := map[string]roleKind{}
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
		user := field(row, uc)
		if user == "" || strings.EqualFold(field(row, sc), "tobedeleted") {
			return nil
		}
		k := oneRosterRole(field(row, rc))
		if strings.EqualFold(field(row, tc), "primary") {
			if !primary[user] || k != roleUnknown {
				out[user] = k
			}
			primary[user] = true
			return nil
		}
		if !primary[user] && rank(k) > rank(out[user]) {
			out[user] = k
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
	roles     map[string]roleKind
	haveRoles bool
}

func readOneRosterUsers(ctx context.Context, fsys fs.FS, m manifest, loc *time.Location, exp *Export, links oneRosterLinks) error {
	t, _, err := openListed(fsys, m, "users")
	if err != nil {
		return err
	}
	defer t.close()
	if err := requireCols(t, []string{"sourcedId"}, []string{"givenName"}, []string{"familyName"}); err != nil {
		return err
	}
	roleCol := t.col("role")
	if roleCol < 0 && !links.haveRoles {
		if m.version == "1.2" {
			return fmt.Errorf("%w: roles.csv is absent and %s has no role column: export roles.csv too (OneRoster 1.2 keeps roles there)", ErrBadExport, t.file)
		}
		return requireCols(t, []string{"role"})
	}
	col := struct{ id, status, modified, enabled, given, family, preferred, email, grades int }{
		t.col("sourcedId"), t.col("status"), t.col("dateLastModified"), t.col("enabledUser"),
		t.col("givenName"), t.col("familyName"),
		// 1.2 calls it preferredGivenName (preferredFirstName in its REST
		// binding); exporters in the wild also write prefferedGivenName.
		t.col("preferredGivenName", "preferredFirstName", "prefferedGivenName", "prefferedFirstName"),
		t.col("email"), t.col("grades"),
	}
	dups := newDuplicates()
	err = t.each(ctx, func(re *rowError) {
		exp.Rows++
		exp.Refused = append(exp.Refused, Refusal{File: t.file, Line: re.Line, Reason: csvSyntaxReason(re)})
	}, func(row []string, line int) error {
		exp.Rows++
		r := Record{File: t.file, Line: line, MISID: field(row, col.id)}
		refuse := func(format string, a ...any) {
			exp.Refused = append(exp.Refused, Refusal{File: t.file, Line: line, MISID: r.MISID, Reason: fmt.Sprintf(format, a...)})
		}
		if r.MISID == "" {
			refuse("sourcedId is empty: every user needs the MIS's id")
			return nil
		}
		if dups.seen(r.MISID, line) {
			return nil
		}
		switch st := field(row, col.status); strings.ToLower(st) {
		case "", "active":
		case "tobedeleted":
			r.Deleted = true
		case "inactive":
			// OneRoster 1.0's word, still written by some exporters.
			r.Disabled = true
		default:
			refuse("status %q is not active or tobedeleted", st)
			return nil
		}
		if s := field(row, col.modified); s != "" {
			mod, err := parseDate(s, oneRosterDateLayouts, loc)
			if err != nil {
				refuse("dateLastModified %q is not a date or datetime (the specification writes 2026-09-03T18:25:43Z)", s)
				return nil
			}
			r.Modified = mod
		}
		switch en := field(row, col.enabled); strings.ToLower(en) {
		case "", "true", "1", "yes":
		case "false", "0", "no":
			r.Disabled = true
		default:
			refuse("enabledUser %q is neither true nor false", en)
			return nil
		}
		kind := roleUnknown
		rawRole := ""
		if k, ok := links.roles[r.MISID]; ok {
			kind = k
			rawRole = "in roles.csv"
		} else if roleCol >= 0 {
			rawRole = field(row, roleCol)
			kind = oneRosterRole(rawRole)
		}
		switch kind {
		case roleNoAccount:
			return nil
		case roleStaff:
			r.Role = directory.RoleStaff
		case rolePupil:
			r.Role = directory.RolePupil
		default:
			switch {
			case r.Deleted:
				// A delta's deletion row may carry nothing but the id.
			case exp.Delta && rawRole == "":
				// A delta that does not restate the role: the account keeps its own.
			case rawRole == "" || rawRole == "in roles.csv":
				refuse("no role: give the user a role (student, teacher, administrator, aide) in %s", map[bool]string{true: "roles.csv", false: "the role column"}[links.haveRoles])
				return nil
			default:
				refuse("role %q is not a OneRoster role Keystage knows: use student, teacher, administrator, aide or proctor", rawRole)
				return nil
			}
		}
		r.GivenName, r.FamilyName = field(row, col.given), field(row, col.family)
		if !r.Deleted && (r.GivenName == "" || r.FamilyName == "") {
			refuse("%s: the MIS must give both names", missingName(r.GivenName, r.FamilyName, "givenName", "familyName"))
			return nil
		}
		r.PreferredName = field(row, col.preferred)
		r.Email = field(row, col.email)
		if r.Role == directory.RolePupil {
			for g := range strings.SplitSeq(field(row, col.grades), ",") {
				if y := oneRosterGrade(g); y != "" {
					r.YearGroup = y
					break
				}
			}
		}
		if e := links.enrolled[r.MISID]; e != nil {
			for _, ci := range e.classes {
				c := links.classes[ci]
				if c.homeroom {
					if r.RegGroup == "" {
						r.RegGroup = c.code
					}
					continue
				}
				r.Classes = appendUnique(r.Classes, c.code)
			}
			for _, ci := range e.left {
				if c := links.classes[ci]; !c.homeroom {
					r.LeftClasses = appendUnique(r.LeftClasses, c.code)
				}
			}
		}
		exp.Records = append(exp.Records, r)
		return nil
	})
	if err != nil {
		return err
	}
	dups.refuse(exp, t.file, "sourcedId")
	return nil
}

// duplicates finds MIS ids on more than one row. Every such row is
// refused, naming all their lines: which row is right is for the MIS to
// say, not a guess here.
type duplicates struct {
	first map[string]int   // MIS id → line of its first row
	more  map[string][]int // MIS id → the lines of its later rows
}

func newDuplicates() *duplicates {
	return &duplicates{first: map[string]int{}, more: map[string][]int{}}
}

// seen notes id on line and is true when an earlier row had it.
func (d *duplicates) seen(id string, line int) bool {
	if _, ok := d.first[id]; ok {
		d.more[id] = append(d.more[id], line)
		return true
	}
	d.first[id] = line
	return false
}

// refuse takes the duplicated ids' records out of exp and refuses their
// rows, what naming the id column in the reason.
func (d *duplicates) refuse(exp *Export, file, what string) {
	if len(d.more) == 0 {
		return
	}
	exp.Records = slices.DeleteFunc(exp.Records, func(r Record) bool { _, dup := d.more[r.MISID]; return dup })
	for id, more := range d.more {
		lines := append([]int{d.first[id]}, more...)
		for _, l := range lines {
			exp.Refused = append(exp.Refused, Refusal{File: file, Line: l, MISID: id,
				Reason: fmt.Sprintf("%s %s appears on lines %s: an id belongs to one person; fix the MIS so that it appears once", what, id, joinInts(lines))})
		}
	}
	slices.SortStableFunc(exp.Refused, func(a, b Refusal) int { return a.Line - b.Line })
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	if len(s) == 2 {
		return s[0] + " and " + s[1]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
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

// csvSyntaxReason says what is wrong with a row the CSV syntax broke.
func csvSyntaxReason(re *rowError) string {
	switch {
	case errors.Is(re.Err, csv.ErrBareQuote):
		return "the row has a double quote inside an unquoted field: quote the whole field (\"O\"\"Brien\") or remove the quote, then export again"
	case errors.Is(re.Err, csv.ErrQuote):
		return "a quoted field is never closed, so this row and everything after it could not be read: fix the quote and export again"
	}
	return "the row is not valid CSV (" + re.Err.Error() + "): export again"
}
