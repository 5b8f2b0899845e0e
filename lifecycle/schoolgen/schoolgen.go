// Package schoolgen makes fictional schools, the same every time for the
// same seed: the demo school, and the large synthetic schools that tests and
// benchmarks need. It writes nothing itself; Seed stores a school through
// the directory's Store.
package schoolgen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"keystage.dev/keystage/lifecycle"
)

// Spec describes the school to make.
type Spec struct {
	Seed           uint64
	Staff          int
	Pupils         int
	Years          []string // e.g. 7..11, or R..6
	FormsPerYear   int      // registration groups per year: 7A, 7B, …
	IntakeYear     int      // calendar year in which the youngest year started
	ClassesPerYear int      // teaching classes per year (0: none)
}

// Demo is the demo school: a secondary of 300 pupils in years 7 to 11 and
// 30 staff.
func Demo() Spec {
	return Spec{Seed: 2026, Staff: 30, Pupils: 300, Years: []string{"7", "8", "9", "10", "11"}, FormsPerYear: 2, IntakeYear: 2026, ClassesPerYear: 2}
}

// Large is a synthetic school (or trust) of n people for benchmarks: one
// staff member to ten pupils.
func Large(n int) Spec {
	staff := n / 11
	return Spec{Seed: 1, Staff: staff, Pupils: n - staff, Years: []string{"7", "8", "9", "10", "11", "12", "13"}, FormsPerYear: 8, IntakeYear: 2026, ClassesPerYear: 6}
}

// Person is one fictional person as an MIS would export them.
type Person struct {
	MISID      string
	Staff      bool
	GivenName  string
	FamilyName string
	YearGroup  string
	RegGroup   string
	Classes    []string
	StartDate  time.Time
	Email      string
}

var given = []string{
	"Oliver", "Amelia", "Noah", "Isla", "Muhammad", "Ava", "George", "Olivia", "Leo", "Lily", "Arthur", "Freya",
	"Zoë", "Siân", "Rhys", "Aoife", "Seán", "Chloë", "Noémie", "José", "Aarav", "Priya", "Fatima", "Yusuf",
	"Minh Khai", "Thị Lan", "Kwame", "Ama", "Oluwaseun", "Chidi", "Mei", "Hiroshi", "Agnieszka", "Mateusz",
	"Ioana", "Andrei", "Niamh", "Ciarán", "Eilidh", "Mårten", "Zainab", "Ibrahim", "Grace", "Jack", "Emily", "Harry",
}

var family = []string{
	"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Khan", "Ahmed",
	"O'Connor-Smyth", "ap Rhys", "Nguyễn", "Okafor", "Mensah", "Kowalski", "Popescu", "Ní Bhriain", "MacLeod",
	"Evans", "Thomas", "Roberts", "Hughes", "Begum", "Ali", "Singh", "Kaur", "Wang", "Tanaka", "García",
	"Müller", "Lindqvist", "Adeyemi", "Clarke", "Wright", "Walker", "Hall", "Green", "Lewis", "Edwards",
}

// People makes the school's people: staff first, then pupils by year.
func People(s Spec) []Person {
	r := rand.New(rand.NewPCG(s.Seed, s.Seed^0x5eed))
	out := make([]Person, 0, s.Staff+s.Pupils)
	for i := 0; i < s.Staff; i++ {
		g, f := given[r.IntN(len(given))], family[r.IntN(len(family))]
		out = append(out, Person{
			MISID: fmt.Sprintf("S%06d", i+1), Staff: true, GivenName: g, FamilyName: f,
			StartDate: time.Date(s.IntakeYear-1-r.IntN(10), 9, 1, 0, 0, 0, 0, time.UTC),
			Email:     fmt.Sprintf("%s.%s%d@staff.example.org", lifecycle.Fold(g), lifecycle.Fold(f), i+1),
		})
	}
	forms := s.FormsPerYear
	if forms < 1 {
		forms = 1
	}
	for i := 0; i < s.Pupils; i++ {
		yi := i * len(s.Years) / max(s.Pupils, 1)
		year := s.Years[yi]
		form := fmt.Sprintf("%s%c", year, 'A'+rune(i%forms))
		g, f := given[r.IntN(len(given))], family[r.IntN(len(family))]
		p := Person{
			MISID: fmt.Sprintf("P%07d", i+1), GivenName: g, FamilyName: f, YearGroup: year, RegGroup: form,
			// The first year listed (the youngest) started this September, each
			// older one a year before.
			StartDate: time.Date(s.IntakeYear-yi, 9, 3, 0, 0, 0, 0, time.UTC),
		}
		for c := 0; c < s.ClassesPerYear; c++ {
			p.Classes = append(p.Classes, fmt.Sprintf("%s-%s-%d", year, []string{"ma", "en", "sc", "hu", "la", "ar"}[c%6], 1+r.IntN(2)))
		}
		out = append(out, p)
	}
	return out
}
