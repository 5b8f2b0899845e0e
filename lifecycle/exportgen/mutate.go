package exportgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

// Mutation says how the next export differs from the last, as shares of
// its people (0.01 is 1%), the same every time for the same seed.
type Mutation struct {
	Seed     uint64
	Movers   float64 // change of surname, or a pupil moving registration group
	Leavers  float64 // given a leave date (CSV) or tobedeleted (OneRoster)
	Starters float64 // new people, never seen before
	// LeaveDate is the leavers' leave date (default 22/07/2026);
	// StartDate the starters' (default 03/09/2026).
	LeaveDate, StartDate time.Time
}

// Changes is the next export and what changed in it.
type Changes struct {
	// After is everyone in the next export, leavers included (they are
	// written as leavers through Options.Leaving).
	After                     []schoolgen.Person
	Movers, Leavers, Starters []string                    // MIS ids
	Before                    map[string]schoolgen.Person // movers as they were
	Leaving                   map[string]time.Time        // leavers' leave dates
}

// OnRoll is After without the leavers: the people to mutate for the
// export after next.
func (c Changes) OnRoll() []schoolgen.Person {
	return slices.DeleteFunc(slices.Clone(c.After), func(p schoolgen.Person) bool { _, left := c.Leaving[p.MISID]; return left })
}

// Options is the Options that writes After with its leavers.
func (c Changes) Options(modified time.Time) Options {
	return Options{Modified: modified, Leaving: c.Leaving}
}

// Mutate makes the next export of people.
func Mutate(people []schoolgen.Person, m Mutation) Changes {
	if m.LeaveDate.IsZero() {
		m.LeaveDate = time.Date(2026, 7, 22, 0, 0, 0, 0, time.UTC)
	}
	if m.StartDate.IsZero() {
		m.StartDate = time.Date(2026, 9, 3, 0, 0, 0, 0, time.UTC)
	}
	r := rand.New(rand.NewPCG(m.Seed, m.Seed^0xde17a))
	n := len(people)
	ch := Changes{After: slices.Clone(people), Before: map[string]schoolgen.Person{}, Leaving: map[string]time.Time{}}
	share := func(f float64) int { return min(n, int(f*float64(n)+0.5)) }
	order := r.Perm(n)
	nMove, nLeave := share(m.Movers), share(m.Leavers)
	nLeave = min(nLeave, n-nMove)
	for _, i := range order[:nMove] {
		p := ch.After[i]
		ch.Before[p.MISID] = p
		ch.Movers = append(ch.Movers, p.MISID)
		if !p.Staff && len(ch.Movers)%2 == 0 {
			if reg, ok := otherForm(r, people, p); ok {
				p.RegGroup = reg
				ch.After[i] = p
				continue
			}
		}
		p.FamilyName = otherSurname(r, people, p.FamilyName)
		ch.After[i] = p
	}
	for _, i := range order[nMove : nMove+nLeave] {
		id := ch.After[i].MISID
		ch.Leavers = append(ch.Leavers, id)
		ch.Leaving[id] = m.LeaveDate
	}
	// Starters' ids are new even when one mutation follows another.
	used := make(map[string]bool, n)
	for _, p := range people {
		used[p.MISID] = true
	}
	next := 0
	for range share(m.Starters) {
		var tmpl schoolgen.Person
		if n > 0 {
			tmpl = people[r.IntN(n)]
		}
		p := tmpl
		for {
			next++
			if p.MISID = fmt.Sprintf("N%07d", next); !used[p.MISID] {
				break
			}
		}
		if n > 0 {
			p.GivenName = people[r.IntN(n)].GivenName
			p.FamilyName = people[r.IntN(n)].FamilyName
		}
		p.Classes = slices.Clone(tmpl.Classes)
		p.StartDate = m.StartDate
		if p.Staff {
			p.Email = fmt.Sprintf("%s.%s.%s@staff.example.org", lifecycle.Fold(p.GivenName), lifecycle.Fold(p.FamilyName), p.MISID)
		}
		ch.Starters = append(ch.Starters, p.MISID)
		ch.After = append(ch.After, p)
	}
	return ch
}

// otherForm is another registration group of p's year, when it has one.
func otherForm(r *rand.Rand, people []schoolgen.Person, p schoolgen.Person) (string, bool) {
	for range 50 {
		q := people[r.IntN(len(people))]
		if !q.Staff && q.YearGroup == p.YearGroup && q.RegGroup != "" && q.RegGroup != p.RegGroup {
			return q.RegGroup, true
		}
	}
	return "", false
}

// otherSurname is a surname from the school other than old.
func otherSurname(r *rand.Rand, people []schoolgen.Person, old string) string {
	for range 50 {
		if f := people[r.IntN(len(people))].FamilyName; f != old {
			return f
		}
	}
	return old + "-Smith"
}

// changed is the set of MIS ids a delta carries.
func (c *Changes) changed() map[string]bool {
	ids := make(map[string]bool, len(c.Movers)+len(c.Leavers)+len(c.Starters))
	for _, set := range [][]string{c.Movers, c.Leavers, c.Starters} {
		for _, id := range set {
			ids[id] = true
		}
	}
	return ids
}

// beforeMovers are the movers as they were, in the order they moved.
func (c *Changes) beforeMovers() []schoolgen.Person {
	out := make([]schoolgen.Person, 0, len(c.Movers))
	for _, id := range c.Movers {
		out = append(out, c.Before[id])
	}
	return out
}

// enrolmentChanges writes the delta's enrolments: a starter's all active,
// a leaver's all tobedeleted, a mover's old registration group
// tobedeleted and new one active.
func (c *Changes) enrolmentChanges(after []schoolgen.Person, enrol func(p schoolgen.Person, codes []string, status string) error) error {
	byID := make(map[string]schoolgen.Person, len(c.Movers)+len(c.Leavers)+len(c.Starters))
	ids := c.changed()
	for _, p := range after {
		if ids[p.MISID] {
			byID[p.MISID] = p
		}
	}
	for _, id := range c.Starters {
		p := byID[id]
		if err := enrol(p, append([]string{p.RegGroup}, p.Classes...), "active"); err != nil {
			return err
		}
	}
	for _, id := range c.Leavers {
		p := byID[id]
		if err := enrol(p, append([]string{p.RegGroup}, p.Classes...), "tobedeleted"); err != nil {
			return err
		}
	}
	for _, id := range c.Movers {
		was, now := c.Before[id], byID[id]
		if was.RegGroup == now.RegGroup {
			continue
		}
		if err := enrol(was, []string{was.RegGroup}, "tobedeleted"); err != nil {
			return err
		}
		if err := enrol(now, []string{now.RegGroup}, "active"); err != nil {
			return err
		}
	}
	return nil
}
