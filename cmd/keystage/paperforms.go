package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"keystage.dev/keystage/directory"
)

// paperRow is one line of a CSV of paper AUP forms.
type paperRow struct {
	Line     int
	Username string
	Audience string // empty: the person's only one
	FormDate time.Time
	Witness  string
	Problem  string // why the row cannot be used as written
}

var paperColumns = []string{"username", "audience", "form_date", "witness"}

// errPaperHeader is a CSV whose header does not name the columns.
var errPaperHeader = errors.New("paper forms CSV header")

// parsePaperForms reads a CSV of paper forms: a header naming the columns
// username, form_date and witness (and, optionally, audience), in any
// order, then one form a line. A row that cannot be read is returned with
// its Problem rather than stopping the file, so that the plan lists every
// fault at once; a file that is not CSV at all is an error.
func parsePaperForms(r io.Reader, loc *time.Location) ([]paperRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the file is empty; want %s", errPaperHeader, strings.Join(paperColumns, ","))
	}
	if err != nil {
		return nil, fmt.Errorf("paper forms CSV: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) // Excel's byte-order mark
		if !oneOf(h, paperColumns...) {
			return nil, fmt.Errorf("%w: unknown column %q; want %s", errPaperHeader, h, strings.Join(paperColumns, ","))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("%w: column %q twice", errPaperHeader, h)
		}
		col[h] = i
	}
	for _, need := range []string{"username", "form_date", "witness"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%w: no %s column; want %s", errPaperHeader, need, strings.Join(paperColumns, ","))
		}
	}
	var rows []paperRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("paper forms CSV: %w", err)
			}
			rows = append(rows, paperRow{Line: pe.StartLine, Problem: "cannot read this line: " + pe.Err.Error()})
			continue
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue // a line of empty cells in a spreadsheet export
		}
		line, _ := cr.FieldPos(0) // only after a record was read
		field := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		row := paperRow{Line: line, Username: strings.ToLower(field("username")), Audience: field("audience"), Witness: field("witness")}
		switch fd := field("form_date"); {
		case row.Username == "":
			row.Problem = "no username"
		case fd == "":
			row.Problem = "no form_date"
		case row.Witness == "":
			row.Problem = "no witness"
		default:
			t, err := time.ParseInLocation(directory.DateLayout, fd, loc)
			if err != nil {
				row.Problem = fmt.Sprintf("form_date %q: want YYYY-MM-DD", fd)
			}
			row.FormDate = t
		}
		rows = append(rows, row)
	}
}
