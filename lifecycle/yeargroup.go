package lifecycle

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// normaliseYearGroup turns how an MIS writes a year group ("Year 7",
// "Yr 07", "Y7", "7", "Reception", "L6") into Keystage's form ("7", "R",
// "12"). ok is false for text it does not recognise, which the reader
// refuses rather than guess at: a wrong year group puts a pupil in the
// wrong groups.
func normaliseYearGroup(s string) (string, bool) {
	k := strings.ToLower(strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '-' || r == '_' }), ""))
	switch k {
	case "":
		return "", true
	case "r", "rec", "reception", "yr", "yearr", "yearreception", "fs2", "f2":
		// "YR" is the usual abbreviation of Reception; "Yr 7" keeps its number below.
		return "R", true
	case "n", "nur", "nursery", "fs1", "f1", "n1", "n2":
		return "N", true
	case "l6", "lowersixth", "6l":
		return "12", true
	case "u6", "uppersixth", "6u":
		return "13", true
	}
	for _, p := range []string{"yeargroup", "year", "yr", "y"} {
		if rest, found := strings.CutPrefix(k, p); found {
			k = rest
			break
		}
	}
	n, err := strconv.Atoi(k)
	if err != nil || n < 0 || n > 14 {
		return "", false
	}
	if n == 0 {
		return "R", true
	}
	return strconv.Itoa(n), true
}

// oneRosterGrade turns a CEDS grade code from OneRoster's grades field into
// a year group by the default mapping. UK exporters write the UK year
// number as the code ("07" is Year 7) and Reception as KG (PK and TK, where
// they appear, too). Codes with no UK year (infant, preschool, ungraded,
// other) give no year group.
func oneRosterGrade(code string) string { return GradeMapping{}.Year(code) }

// GradeMapping says how OneRoster grade codes become UK year groups.
// Exporters differ: most UK ones write the UK year ("07" is Year 7, the
// default), while one that writes US grades needs Offset 1 (grade 06 is
// Year 7, KG Year 1). It is [sync.oneroster] in the configuration.
type GradeMapping struct {
	// Offset is added to a numbered grade (and to KG, grade 0): 0 reads
	// the UK year, 1 US grades.
	Offset int `toml:"grade_offset"`
	// Years maps a grade code to a year group outright, before Offset
	// ("PS" = "N"; an empty year gives none).
	Years map[string]string `toml:"grade_years"`
}

// Year is the year group a grade code becomes; empty for none.
func (g GradeMapping) Year(code string) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	for k, v := range g.Years {
		if strings.EqualFold(strings.TrimSpace(k), c) {
			y, _ := normaliseYearGroup(v)
			return y
		}
	}
	switch c {
	case "PK", "TK":
		return "R"
	case "IT", "PR", "PS", "UG", "OTHER", "":
		return ""
	}
	n := 0
	if c != "KG" {
		var err error
		if n, err = strconv.Atoi(c); err != nil || n < 1 {
			return ""
		}
	}
	n += g.Offset
	switch {
	case n == 0:
		return "R"
	case n < 1 || n > 13:
		return ""
	}
	return strconv.Itoa(n)
}

// Validate reports every fault in the mapping.
func (g GradeMapping) Validate() []string {
	var out []string
	if g.Offset != 0 && g.Offset != 1 {
		out = append(out, fmt.Sprintf("grade_offset %d: use 0 (the grade is the UK year, the default) or 1 (US grades: grade 6 is Year 7)", g.Offset))
	}
	for k, v := range g.Years {
		if _, ok := normaliseYearGroup(v); !ok {
			out = append(out, fmt.Sprintf("grade_years %q = %q: write a year group (R, 1 to 13, N) or \"\" for none", k, v))
		}
	}
	return out
}

// GradeYear is what one grade code became in an export, and for how many
// pupils: the plan shows them first, so that a wrong mapping is seen
// before it is applied.
type GradeYear struct {
	Grade  string `json:"grade"`
	Year   string `json:"year"`
	Pupils int    `json:"pupils"`
}

// String says it for a person.
func (g GradeYear) String() string {
	if g.Year == "" {
		return fmt.Sprintf("grade %q: no year group (%d pupils)", g.Grade, g.Pupils)
	}
	return fmt.Sprintf("grade %q read as Year %s (%d pupils)", g.Grade, g.Year, g.Pupils)
}
