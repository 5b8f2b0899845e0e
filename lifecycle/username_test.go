package lifecycle

import (
	"context"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

func TestUsernamePatterns(t *testing.T) {
	start := time.Date(2026, 9, 3, 0, 0, 0, 0, time.UTC)
	today := time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		pat      string
		r        Record
		reserved []string
		taken    []string
		want     string
	}{
		{"pupil default", "", Record{MISID: "P1", Role: directory.RolePupil, GivenName: "Jane", FamilyName: "Smith", StartDate: start}, nil, nil, "26jsmith"},
		{"staff default", "", Record{MISID: "S1", Role: directory.RoleStaff, GivenName: "Jane", FamilyName: "Smith"}, nil, nil, "jsmith"},
		{"folded", "{g}{family}", Record{MISID: "S1", Role: directory.RoleStaff, GivenName: "Zoë", FamilyName: "O'Connor-Smyth"}, nil, nil, "zoconnorsmyth"},
		{"vietnamese", "{given}.{family}", Record{MISID: "S1", Role: directory.RoleStaff, GivenName: "Thị Minh Khai", FamilyName: "Nguyễn"}, nil, nil, "thiminhkhai.nguyen"},
		{"welsh", "{g}{family}", Record{MISID: "S1", Role: directory.RoleStaff, GivenName: "Siân", FamilyName: "ap Rhys"}, nil, nil, "saprhys"},
		{"no start date: today's year", "{yyyy}{f}{g}", Record{MISID: "P1", Role: directory.RolePupil, GivenName: "Jo", FamilyName: "Bloggs"}, nil, nil, "2027bj"},
		{"id token", "x{id}", Record{MISID: "UPN-A12/3", Role: directory.RolePupil, GivenName: "Jo", FamilyName: "Bloggs"}, nil, nil, "xupna123"},
		{"collisions count up", "{g}{family}", Record{MISID: "S1", Role: directory.RoleStaff, GivenName: "Jane", FamilyName: "Smith"}, nil, []string{"jsmith", "jsmith2"}, "jsmith3"},
		{"reserved: more of the given name", "{g}{family}", Record{MISID: "S1", Role: directory.RoleStaff, GivenName: "Hannah", FamilyName: "Ell"}, []string{"hell"}, nil, "haell"},
		{"reserved everywhere: the id", "{g}{family}", Record{MISID: "S77", Role: directory.RoleStaff, GivenName: "Ann", FamilyName: "Sexton"}, []string{"sex"}, nil, "ss77"},
		{"a name with no letters left", "{g}{family}", Record{MISID: "S9", Role: directory.RoleStaff, GivenName: "王", FamilyName: "伟"}, nil, nil, "ss9"},
		{"too long is cut", "{given}{family}", Record{MISID: "S1", Role: directory.RoleStaff, GivenName: "Oluwaseun", FamilyName: "Adeyemi-Okonkwo"}, nil, nil, "oluwaseunadeyemiokon"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Policy{Reserved: tc.reserved}
			if tc.pat != "" {
				p.Usernames = map[directory.Role]string{tc.r.Role: tc.pat}
			}
			if err := checkPattern(p.pattern(tc.r.Role)); err != nil {
				t.Fatal(err)
			}
			taken := map[string]bool{}
			for _, n := range tc.taken {
				taken[n] = true
			}
			u := &usernames{p: p, today: today, used: map[string]bool{},
				taken: func(_ context.Context, n string) (bool, error) { return taken[n], nil }}
			got, err := u.next(context.Background(), tc.r)
			if err != nil || got != tc.want {
				t.Fatalf("got %q %v, want %q", got, err, tc.want)
			}
			if err := directory.ValidUsername(got); err != nil {
				t.Errorf("invalid: %v", err)
			}
		})
	}
	if err := checkPattern("{g}{Family}"); err == nil {
		t.Errorf("a pattern with an unknown token passed")
	}
}
