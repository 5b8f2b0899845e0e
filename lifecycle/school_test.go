package lifecycle_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
)

func readTrust(t *testing.T, path string) *lifecycle.Export {
	t.Helper()
	src, err := lifecycle.Open("oneroster:"+path, lifecycle.ReadOptions{Orgs: true})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

func misIDs(exp *lifecycle.Export) []string {
	var out []string
	for _, r := range exp.Records {
		out = append(out, r.MISID)
	}
	slices.Sort(out)
	return out
}

// TestSplitTrustExportByOrg: a trust-wide OneRoster export is split by the
// schools' orgs, a department counting as its school and a pupil on two
// schools' rolls in both parts.
func TestSplitTrustExportByOrg(t *testing.T) {
	exp := readTrust(t, "testdata/oneroster-trust")
	north, err := lifecycle.SplitByOrg(exp, "north", []string{"org-north"})
	if err != nil {
		t.Fatal(err)
	}
	if got := misIDs(north); !slices.Equal(got, []string{"usr-n1", "usr-n2", "usr-n3", "usr-s3"}) {
		t.Errorf("north = %v", got)
	}
	south, err := lifecycle.SplitByOrg(exp, "south", []string{"org-south"})
	if err != nil {
		t.Fatal(err)
	}
	if got := misIDs(south); !slices.Equal(got, []string{"usr-s1", "usr-s2", "usr-s3"}) {
		t.Errorf("south = %v", got)
	}
	if north.Source == south.Source || !strings.HasSuffix(north.Source, "#north") || north.Rows != 4 {
		t.Errorf("parts: %q %q rows %d", north.Source, south.Source, north.Rows)
	}
	if _, err := lifecycle.SplitByOrg(exp, "west", []string{"org-west"}); !errors.Is(err, lifecycle.ErrBadExport) ||
		!strings.Contains(err.Error(), "missing or late") {
		t.Errorf("a school with no one in the export: %v", err)
	}
	if _, err := lifecycle.SplitByOrg(&lifecycle.Export{}, "north", []string{"org-north"}); !errors.Is(err, lifecycle.ErrBadExport) {
		t.Errorf("an export read without orgs: %v", err)
	}
}

// TestRealExportsSplitByOrg reads the real OneRoster exports in
// ../shared (when present): their people name a department, whose parent
// in orgs.csv (or, absent from it, nothing) decides the school.
func TestRealExportsSplitByOrg(t *testing.T) {
	root := lifecycle.SamplesDir(t) // skips, saying why, where they are not
	for _, set := range []string{"Test_full_data_set", "Test_minimal_data_set", "v1p2_full_dataset"} {
		t.Run(set, func(t *testing.T) {
			exp := readTrust(t, filepath.Join(root, set))
			if len(exp.Records) == 0 {
				t.Fatal("no records")
			}
			// The department itself, and (where orgs.csv names it) its school.
			schools := [][]string{{"org-sch-222-456"}}
			if exp.Orgs.Parents["org-sch-222-456"] != "" {
				schools = append(schools, []string{exp.Orgs.Parents["org-sch-222-456"]})
			}
			for _, orgs := range schools {
				part, err := lifecycle.SplitByOrg(exp, "sch", orgs)
				if err != nil {
					t.Fatalf("%v: %v", orgs, err)
				}
				if len(part.Records) != len(exp.Records) {
					t.Errorf("%v: %d of %d people", orgs, len(part.Records), len(exp.Records))
				}
			}
			if _, err := lifecycle.SplitByOrg(exp, "other", []string{"org-elsewhere"}); err == nil {
				t.Error("an org no one belongs to gave a part")
			}
		})
	}
}

// TestSchoolSyncsOnItsOwn: each school's part is synced on its own: its
// starters are made at the school with its own groups; the pupil on both
// rolls is one account; a later export in which one school's part is
// missing changes nothing at that school and the other syncs; a school's
// mass-change breaker weighs its own people, not the trust's.
func TestSchoolSyncsOnItsOwn(t *testing.T) {
	backends(t, testSchoolSyncsOnItsOwn)
}

func testSchoolSyncsOnItsOwn(t *testing.T, open opener) {
	ctx := context.Background()
	f := newFixture(t, open, lifecycle.Policy{})
	exp := readTrust(t, "testdata/oneroster-trust")
	syncSchool := func(exp *lifecycle.Export, school, org string) (*lifecycle.Plan, error) {
		t.Helper()
		part, err := lifecycle.SplitByOrg(exp, school, []string{org})
		if err != nil {
			return nil, err
		}
		p, err := f.e.PlanSync(ctx, part, lifecycle.SyncOptions{School: school})
		if err != nil {
			t.Fatal(err)
		}
		if p.Blocked == "" {
			f.apply(p)
		}
		return p, nil
	}
	if _, err := syncSchool(exp, "south", "org-south"); err != nil {
		t.Fatal(err)
	}
	p, err := syncSchool(exp, "north", "org-north")
	if err != nil {
		t.Fatal(err)
	}
	if a := f.account("usr-n1"); a.School != "north" {
		t.Errorf("north's pupil at %q", a.School)
	}
	if a := f.account("usr-s3"); a.School != "south" || !slices.Equal(a.AlsoSchools, []string{"north"}) {
		t.Errorf("the pupil on both rolls: at %q, also %v; want one account at south, also at north", a.School, a.AlsoSchools)
	}
	dual := false
	for _, c := range p.Changes {
		dual = dual || (c.MISID == "usr-s3" && c.Kind == lifecycle.KindDual)
	}
	if !dual {
		t.Errorf("north's plan does not register south's pupil: %+v", p.Changes)
	}
	if g := f.groups("usr-n1"); !slices.Equal(strings.Split(g, ","), []string{"north-7a", "north-pupils", "north-year-7", "pupils"}) {
		t.Errorf("north's pupil's groups: %s", g)
	}
	if g := f.groups("usr-s1"); !strings.Contains(g, "south-7a") {
		t.Errorf("south's pupil's groups: %s", g)
	}
	if _, err := f.s.AccountByMISID(ctx, "usr-c1"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("the trust's own person was made by a school's sync: %v", err)
	}

	// without is exp with some people's school orgs taken away.
	without := func(org string, ids ...string) *lifecycle.Export {
		out := &lifecycle.Export{Source: exp.Source, Orgs: &lifecycle.Orgs{Users: map[string][]string{}, Parents: exp.Orgs.Parents, Known: exp.Orgs.Known}}
		for id, orgs := range exp.Orgs.Users {
			if slices.Contains(ids, id) {
				orgs = slices.DeleteFunc(slices.Clone(orgs), func(o string) bool { return o == org })
			}
			out.Orgs.Users[id] = orgs
		}
		for _, r := range exp.Records {
			if len(out.Orgs.Users[r.MISID]) > 0 {
				out.Records = append(out.Records, r)
			}
		}
		out.Rows = len(out.Records)
		return out
	}
	// South's export goes missing: south's sync refuses, and north's goes
	// on without touching south's people.
	late := without("org-south", "usr-s1", "usr-s2", "usr-s3")
	if _, err := syncSchool(late, "south", "org-south"); err == nil || !strings.Contains(err.Error(), "missing or late") {
		t.Fatalf("south's missing export: %v", err)
	}
	p, err = syncSchool(late, "north", "org-north")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		if strings.HasPrefix(c.MISID, "usr-s") && c.MISID != "usr-s3" {
			t.Errorf("north's sync plans south's %s: %+v", c.MISID, c)
		}
	}
	// Half of south's roll gone from its part: south's own breaker trips,
	// though it is a small share of the trust.
	p, err = syncSchool(without("org-south", "usr-s1", "usr-s2"), "south", "org-south")
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked == "" {
		t.Errorf("south lost two of its three: not blocked: %+v", p.Changes)
	}
	for _, id := range []string{"usr-s1", "usr-s2"} {
		if a := f.account(id); a.Status != directory.StatusActive || !a.LeaveDate.IsZero() {
			t.Errorf("%s ended by a missing export: %+v", id, a)
		}
	}
	// The pupil leaves north's roll: the dual registration ends, the
	// account stays at south.
	if p, err = syncSchool(without("org-north", "usr-s3"), "north", "org-north"); err != nil {
		t.Fatal(err)
	}
	if p.Blocked != "" { // one of north's four rows: over the share for so small a school
		p.AllowMassChange = true
		f.apply(p)
	}
	if a := f.account("usr-s3"); a.School != "south" || len(a.AlsoSchools) != 0 || a.Status != directory.StatusActive {
		t.Errorf("after leaving north's roll: %+v", a)
	}
	runs, err := f.s.SyncRuns(ctx, "sync", 10)
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]bool{}
	for _, r := range runs {
		sources[r.Source] = true
	}
	if !sources[exp.Source+"#north"] || !sources[exp.Source+"#south"] {
		t.Errorf("runs by source: %v", sources)
	}
}

// TestSchoolSyncAdoptsAccountsOfNoSchool: a Keystage that becomes a
// trust keeps its accounts; each school's first sync takes in those of no
// school that its export holds (with the school's groups), never ends
// them, and leaves the trust's own (in no school's part) alone.
func TestSchoolSyncAdoptsAccountsOfNoSchool(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openSQLite, lifecycle.Policy{})
	exp := readTrust(t, "testdata/oneroster-trust")
	f.sync(exp) // before the schools: everyone made with no school
	if a := f.account("usr-n1"); a.School != "" {
		t.Fatalf("made at %q", a.School)
	}
	before := f.account("usr-n1")
	for _, s := range []struct{ id, org string }{{"north", "org-north"}, {"south", "org-south"}} {
		part, err := lifecycle.SplitByOrg(exp, s.id, []string{s.org})
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.e.PlanSync(ctx, part, lifecycle.SyncOptions{School: s.id})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Changes {
			if c.Kind == lifecycle.KindLeave || c.Disable {
				t.Errorf("%s's first sync ends %s: %+v", s.id, c.Username, c)
			}
		}
		if p.Blocked != "" {
			t.Fatalf("%s blocked: %s", s.id, p.Blocked)
		}
		f.apply(p)
	}
	after := f.account("usr-n1")
	if after.School != "north" || after.UUID != before.UUID || after.Username != before.Username {
		t.Errorf("north's pupil after the first school sync: %+v", after)
	}
	if g := f.groups("usr-n1"); !strings.Contains(g, "north-7a") || strings.Contains(g, ",7a") || strings.HasPrefix(g, "7a") {
		t.Errorf("north's pupil's groups: %s", g)
	}
	if a := f.account("usr-s1"); a.School != "south" {
		t.Errorf("south's pupil at %q", a.School)
	}
	if a := f.account("usr-s3"); a.School != "north" || !slices.Equal(a.AlsoSchools, []string{"south"}) {
		t.Errorf("the pupil on both rolls: %+v", a)
	}
	if a := f.account("usr-c1"); a.School != "" || a.Status != directory.StatusActive {
		t.Errorf("the trust's own: %+v", a)
	}
}
