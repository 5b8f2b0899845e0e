package exportgen

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

func read(t *testing.T, spec string) *lifecycle.Export {
	t.Helper()
	src, err := lifecycle.Open(spec, lifecycle.ReadOptions{Mapping: Mapping()})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Refused) > 0 {
		t.Fatalf("%s: %d rows refused, first %+v", spec, len(exp.Refused), exp.Refused[0])
	}
	return exp
}

// checkPeople holds that the readers give back exactly the people written.
func checkPeople(t *testing.T, exp *lifecycle.Export, people []schoolgen.Person, dates bool) {
	t.Helper()
	if len(exp.Records) != len(people) || exp.Rows != len(people) {
		t.Fatalf("%d records from %d rows, want %d", len(exp.Records), exp.Rows, len(people))
	}
	for i, p := range people {
		r := exp.Records[i]
		role := directory.RolePupil
		if p.Staff {
			role = directory.RoleStaff
		}
		if r.MISID != p.MISID || r.Role != role || r.GivenName != p.GivenName || r.FamilyName != p.FamilyName ||
			r.YearGroup != p.YearGroup || r.RegGroup != p.RegGroup || !slices.Equal(r.Classes, p.Classes) || r.Email != p.Email {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, r, p)
		}
		if dates && !r.StartDate.Equal(p.StartDate) {
			t.Fatalf("record %d: start %v, want %v", i, r.StartDate, p.StartDate)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	people := schoolgen.People(schoolgen.Demo())
	dir := t.TempDir()
	if err := WriteOneRoster(filepath.Join(dir, "or"), people, Options{}); err != nil {
		t.Fatal(err)
	}
	checkPeople(t, read(t, "oneroster:"+filepath.Join(dir, "or")), people, false)
	if err := WriteCSVFile(filepath.Join(dir, "report.csv"), people, Options{}); err != nil {
		t.Fatal(err)
	}
	checkPeople(t, read(t, "csv:"+filepath.Join(dir, "report.csv")), people, true)
}

func TestMutate(t *testing.T) {
	people := schoolgen.People(schoolgen.Demo())
	ch := Mutate(people, Mutation{Seed: 7, Movers: 0.04, Leavers: 0.02, Starters: 0.03})
	if len(ch.Movers) != 13 || len(ch.Leavers) != 7 || len(ch.Starters) != 10 || len(ch.After) != len(people)+10 {
		t.Fatalf("%d movers, %d leavers, %d starters, %d after; want 13, 7, 10 of 330 and 340 after", len(ch.Movers), len(ch.Leavers), len(ch.Starters), len(ch.After))
	}
	if again := Mutate(people, Mutation{Seed: 7, Movers: 0.04, Leavers: 0.02, Starters: 0.03}); !slices.Equal(again.Movers, ch.Movers) {
		t.Error("the same seed gave other movers")
	}
	// A second change on top of the first makes starters of its own.
	onRoll := ch.OnRoll()
	if len(onRoll) != len(ch.After)-len(ch.Leavers) {
		t.Errorf("%d on roll, want %d", len(onRoll), len(ch.After)-len(ch.Leavers))
	}
	next := Mutate(onRoll, Mutation{Seed: 8, Starters: 0.03})
	for _, id := range next.Starters {
		if slices.Contains(ch.Starters, id) {
			t.Errorf("starter %s of the second change has an id of the first", id)
		}
	}
	dir := t.TempDir()
	modified := time.Date(2026, 9, 2, 7, 0, 0, 0, time.UTC)
	if err := WriteOneRosterDelta(dir, ch, ch.Options(modified)); err != nil {
		t.Fatal(err)
	}
	exp := read(t, "oneroster:"+dir)
	if !exp.Delta || !exp.ClassesPartial || len(exp.Records) != 30 {
		t.Fatalf("delta %v partial %v, %d records; want a delta of 30", exp.Delta, exp.ClassesPartial, len(exp.Records))
	}
	byID := map[string]lifecycle.Record{}
	for _, r := range exp.Records {
		byID[r.MISID] = r
		if !r.Modified.Equal(modified) {
			t.Errorf("%s modified %v, want %v", r.MISID, r.Modified, modified)
		}
	}
	for _, id := range ch.Leavers {
		if !byID[id].Deleted {
			t.Errorf("leaver %s not tobedeleted", id)
		}
	}
	regMoves := 0
	for _, id := range ch.Movers {
		was, r := ch.Before[id], byID[id]
		switch {
		case r.FamilyName != was.FamilyName:
		case r.RegGroup != "" && r.RegGroup != was.RegGroup:
			regMoves++
		default:
			t.Errorf("mover %s: %+v did not move from %+v", id, r, was)
		}
	}
	if regMoves == 0 {
		t.Error("no mover changed registration group")
	}
	for _, id := range ch.Starters {
		if r, ok := byID[id]; !ok || r.Deleted || r.GivenName == "" {
			t.Errorf("starter %s: %+v", id, r)
		}
	}
	// The bulk CSV of the same change gives the leavers their leave date.
	if err := WriteCSVFile(filepath.Join(dir, "report.csv"), ch.After, ch.Options(modified)); err != nil {
		t.Fatal(err)
	}
	csvExp := read(t, "csv:"+filepath.Join(dir, "report.csv"))
	leavers := 0
	for _, r := range csvExp.Records {
		if !r.LeaveDate.IsZero() {
			leavers++
			if _, ok := ch.Leaving[r.MISID]; !ok {
				t.Errorf("%s has a leave date but is no leaver", r.MISID)
			}
		}
	}
	if leavers != len(ch.Leavers) || len(csvExp.Records) != len(ch.After) {
		t.Errorf("%d leavers in %d records, want %d in %d", leavers, len(csvExp.Records), len(ch.Leavers), len(ch.After))
	}
}
