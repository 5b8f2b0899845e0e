package lifecycle

import (
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
// a year group. UK exporters write the UK year number as the code ("07" is
// Year 7) and Reception as KG (PK and TK, where they appear, too). Codes
// with no UK year (infant, preschool, ungraded, other) give no year group.
func oneRosterGrade(code string) string {
	switch c := strings.ToUpper(strings.TrimSpace(code)); c {
	case "KG", "PK", "TK":
		return "R"
	case "IT", "PR", "PS", "UG", "OTHER", "":
		return ""
	default:
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > 13 {
			return ""
		}
		return strconv.Itoa(n)
	}
}
