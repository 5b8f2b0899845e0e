package schoolgen_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

// schoolSize is the generated school the primary-group check runs over:
// 5,000 people unless KEYSTAGE_SCHOOL_PEOPLE says otherwise. .ci/run runs
// it again at 200,000 without the race detector, which would take half an
// hour over that many.
func schoolSize(t *testing.T) int {
	if v := os.Getenv("KEYSTAGE_SCHOOL_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("KEYSTAGE_SCHOOL_PEOPLE=%q: %v", v, err)
		}
		return n
	}
	return 5_000
}

// No person's primary gid names another group, over the demo school and a
// generated school of schoolSize people: each is their own group's.
func TestNoPrimaryGIDNamesAnotherGroup(t *testing.T) {
	for name, sch := range map[string]schoolgen.Spec{"demo": schoolgen.Demo(), "large": schoolgen.Large(schoolSize(t))} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "k.db")})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			people := schoolgen.People(sch)
			if _, err := schoolgen.Seed(ctx, s, people, schoolgen.SeedOptions{Batch: 5000}); err != nil {
				t.Fatal(err)
			}
			problems, err := directory.CheckPrimaryGroups(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range problems {
				if i == 20 {
					t.Errorf("… and %d more", len(problems)-20)
					break
				}
				t.Error(p)
			}
			t.Logf("%d people checked", len(people))
		})
	}
}
