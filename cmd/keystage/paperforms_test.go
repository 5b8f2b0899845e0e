package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePaperForms(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		rows    int
		problem string // of the first row
		err     error
	}{
		{"good", "username,form_date,witness\njsmith,2026-09-01,Mrs Head\n", 1, "", nil},
		{"any order, audience", "witness,audience,form_date,username\nW,staff,2026-09-01,jsmith\n", 1, "", nil},
		{"empty", "", 0, "", errPaperHeader},
		{"no witness column", "username,form_date\njsmith,2026-09-01\n", 0, "", errPaperHeader},
		{"unknown column", "username,form_date,witness,notes\n", 0, "", errPaperHeader},
		{"twice", "username,username,form_date,witness\n", 0, "", errPaperHeader},
		{"bad date", "username,form_date,witness\njsmith,01/09/2026,W\n", 1, "want YYYY-MM-DD", nil},
		{"short row", "username,form_date,witness\njsmith\n", 1, "no form_date", nil},
		{"bad quotes", "username,form_date,witness\n\"jsmith,2026-09-01,W\n", 1, "cannot read this line", nil},
		{"blank cells", "username,form_date,witness\n,,\n", 0, "", nil},
	} {
		rows, err := parsePaperForms(strings.NewReader(tc.in), time.UTC)
		if !errors.Is(err, tc.err) || len(rows) != tc.rows {
			t.Errorf("%s: %d rows, %v", tc.name, len(rows), err)
			continue
		}
		if tc.rows > 0 && !strings.Contains(rows[0].Problem, tc.problem) || tc.problem == "" && tc.rows > 0 && rows[0].Problem != "" {
			t.Errorf("%s: problem %q, want %q", tc.name, rows[0].Problem, tc.problem)
		}
	}
}

func FuzzParsePaperForms(f *testing.F) {
	f.Add("username,form_date,witness\njsmith,2026-09-01,Mrs Head\n")
	f.Add("\ufeffUsername,Form_Date,Witness,Audience\n\"a,b\",2026-01-01,\"W \"\"x\"\"\",staff\n,,\n")
	f.Add("username,form_date,witness\n\"open")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := parsePaperForms(strings.NewReader(in), time.UTC)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Problem == "" && (r.Username == "" || r.Witness == "" || r.FormDate.IsZero()) {
				t.Fatalf("row without a problem lacks a field: %+v", r)
			}
		}
	})
}
