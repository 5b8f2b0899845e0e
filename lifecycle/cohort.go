package lifecycle

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// Cohort is a year group that leaves, starts or is purged together at the
// turn of the school year: the change every summer and September brings,
// which the mass-change breakers expect rather than refuse. A plan shows
// each one in its first lines.
type Cohort struct {
	// Change is CohortLeaving, CohortIntake or CohortPurged.
	Change string `json:"change"`
	Year   string `json:"year"`
	// N of Of: the pupils of the year group in the change, and all the
	// year group's pupils.
	N  int `json:"n"`
	Of int `json:"of"`
}

// The changes a cohort makes.
const (
	CohortLeaving = "leaving"
	CohortIntake  = "intake"
	CohortPurged  = "purged"
)

// String says it for a person.
func (c Cohort) String() string {
	switch c.Change {
	case CohortIntake:
		return fmt.Sprintf("Year %s starting as the new intake: %d of the %d pupils in Year %s", c.Year, c.N, c.Of, c.Year)
	case CohortPurged:
		return fmt.Sprintf("Year %s who left together at the end of a school year, purged after retention: %d of %d", c.Year, c.N, c.Of)
	}
	return fmt.Sprintf("Year %s leaving at the end of the school year: %d of the %d pupils in Year %s", c.Year, c.N, c.Of, c.Year)
}

// wholeShare is how much of a year group must change together to be a
// cohort: the whole year group, give or take a pupil in ten staying on
// or arriving late.
const wholeShare = 0.9

// yearEnd says whether a leave or start date is at the turn of the school
// year: from 1 June (the end of exams) to 30 September (the intake's first
// weeks and the usual grace).
func yearEnd(d time.Time) bool {
	return !d.IsZero() && d.Month() >= time.June && d.Month() <= time.September
}

// yearRank orders year groups: N, R, 1 … 14; -2 for none.
func yearRank(y string) int {
	switch y {
	case "":
		return -2
	case "N":
		return -1
	case "R":
		return 0
	}
	n, err := strconv.Atoi(y)
	if err != nil {
		return -2
	}
	return n
}

// leavingYear says whether a year group's leaving can be a cohort: the
// oldest year group on roll (Year 6 of a primary, 11 or 13 of a
// secondary), or Year 11, the end of compulsory schooling, in a school
// with a sixth form. A whole younger year group leaving is a mistake in the
// export, and stays under the limit.
func leavingYear(y, oldest string) bool {
	return y != "" && (y == oldest || y == "11")
}

// oldestYear is the oldest year group among the MIS pupils (active ones
// when there are any).
func (st *state) oldestYear() string {
	best, bestAny := "", ""
	for _, a := range st.accounts {
		if a.Role != directory.RolePupil {
			continue
		}
		if yearRank(a.YearGroup) > yearRank(bestAny) {
			bestAny = a.YearGroup
		}
		if a.Status == directory.StatusActive && yearRank(a.YearGroup) > yearRank(best) {
			best = a.YearGroup
		}
	}
	if best == "" {
		return bestAny
	}
	return best
}

// leavingCohorts finds the year groups that the plan's leavers (and, in a
// bulk export, the people missing from it) take whole at the end of the
// school year. It returns the cohorts and the MIS ids in them.
func (e *Engine) leavingCohorts(p *Plan, st *state, today time.Time) ([]Cohort, map[string]bool) {
	size := map[string]int{}
	for _, a := range st.accounts {
		if a.Role == directory.RolePupil && a.Status == directory.StatusActive {
			size[a.YearGroup]++
		}
	}
	oldest := st.oldestYear()
	leaving := map[string][]string{}
	for _, c := range p.Changes {
		if !c.Disable && c.Kind != KindLeave && c.Kind != KindMissing {
			continue
		}
		a := st.byMIS[c.MISID]
		if a == nil || a.Role != directory.RolePupil || a.Status != directory.StatusActive || !leavingYear(a.YearGroup, oldest) {
			continue
		}
		leave := a.LeaveDate
		if c.Set != nil && c.Set.LeaveDate != "" {
			leave, _ = directory.ParseDate(c.Set.LeaveDate)
		}
		if leave.IsZero() {
			leave = today
		}
		if yearEnd(leave) {
			leaving[a.YearGroup] = append(leaving[a.YearGroup], c.MISID)
		}
	}
	return cohortsOf(CohortLeaving, leaving, size)
}

// intakeCohorts finds the year groups the plan's starters form: pupils
// starting at the turn of the year who are (nearly) all of their year
// group as the plan leaves it. They are shown, not limited.
func (e *Engine) intakeCohorts(p *Plan, st *state, today time.Time) []Cohort {
	size := map[string]int{}
	changed := map[string]*Change{}
	for i := range p.Changes {
		changed[p.Changes[i].MISID] = &p.Changes[i]
	}
	for _, a := range st.accounts {
		if a.Role != directory.RolePupil || a.Status != directory.StatusActive {
			continue
		}
		y := a.YearGroup
		if c := changed[a.MISID]; c != nil {
			if c.Disable || c.Kind == KindLeave || c.Kind == KindMissing {
				continue
			}
			if c.Set != nil {
				y = c.Set.YearGroup
			}
		}
		size[y]++
	}
	starting := map[string][]string{}
	for _, c := range p.Changes {
		if c.Kind != KindStart || c.Set == nil || c.Set.Role != directory.RolePupil || c.Set.YearGroup == "" {
			continue
		}
		start, _ := directory.ParseDate(c.Set.StartDate)
		if start.IsZero() {
			start = today
		}
		size[c.Set.YearGroup]++
		if yearEnd(start) {
			starting[c.Set.YearGroup] = append(starting[c.Set.YearGroup], c.MISID)
		}
	}
	cs, _ := cohortsOf(CohortIntake, starting, size)
	return cs
}

// purgeCohorts finds the purges that are a whole year group which left
// together at the end of a school year: the disabled pupils of one year
// group whose leave dates fall in the same summer, nearly all purged at
// once.
func (e *Engine) purgeCohorts(p *Plan, st *state) ([]Cohort, map[string]bool) {
	key := func(a *directory.Account) string {
		if a.Role != directory.RolePupil || !yearEnd(a.LeaveDate) {
			return ""
		}
		return a.YearGroup + "\x00" + strconv.Itoa(a.LeaveDate.Year())
	}
	oldest := st.oldestYear()
	size := map[string]int{}
	for _, a := range st.accounts {
		if k := key(a); k != "" && a.Status == directory.StatusDisabled {
			size[k]++
		}
	}
	purged := map[string][]string{}
	for _, c := range p.Changes {
		if c.Kind != KindPurge {
			continue
		}
		a := st.byMIS[c.MISID]
		if a == nil || !leavingYear(a.YearGroup, oldest) {
			continue
		}
		if k := key(a); k != "" {
			purged[k] = append(purged[k], c.MISID)
		}
	}
	cs, in := cohortsOf(CohortPurged, purged, size)
	for i := range cs {
		cs[i].Year, _, _ = strings.Cut(cs[i].Year, "\x00")
	}
	sortCohorts(cs)
	return cs, in
}

// cohortsOf keeps the groups that are (nearly) the whole of their year
// group, in year order.
func cohortsOf(change string, groups map[string][]string, size map[string]int) ([]Cohort, map[string]bool) {
	var out []Cohort
	in := map[string]bool{}
	for k, ids := range groups {
		of := size[k]
		if of == 0 || float64(len(ids)) < wholeShare*float64(of) {
			continue
		}
		out = append(out, Cohort{Change: change, Year: k, N: len(ids), Of: of})
		for _, id := range ids {
			in[id] = true
		}
	}
	sortCohorts(out)
	return out, in
}

func sortCohorts(cs []Cohort) {
	sort.SliceStable(cs, func(i, j int) bool { return yearRank(cs[i].Year) < yearRank(cs[j].Year) })
}
