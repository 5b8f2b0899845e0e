package audit

import (
	"encoding/csv"
	"fmt"
	"io"
)

// TableWriter writes a table of text, one row at a time, for an auditor:
// the access review is one. Close finishes the file.
type TableWriter interface {
	WriteCells(cells []string) error
	Close() error
}

// NewTableWriter writes a table with the given header to w as CSV (with
// the BOM and the formula guard of the register) or as an XLSX workbook of
// one sheet named sheet.
func NewTableWriter(w io.Writer, format, sheet string, header []string) (TableWriter, error) {
	switch format {
	case FormatCSV, "":
		if _, err := io.WriteString(w, UTF8BOM); err != nil {
			return nil, err
		}
		c := &csvTable{w: csv.NewWriter(w)}
		if err := c.WriteCells(header); err != nil {
			return nil, err
		}
		return c, nil
	case FormatXLSX:
		return newXLSXSheet(w, sheet, header)
	}
	return nil, fmt.Errorf("%w (not %q: use csv or xlsx)", ErrFormat, format)
}

type csvTable struct{ w *csv.Writer }

func (c *csvTable) WriteCells(cells []string) error {
	rec := make([]string, len(cells))
	for i, v := range cells {
		rec[i] = csvSafe(v)
	}
	return c.w.Write(rec)
}

func (c *csvTable) Close() error {
	c.w.Flush()
	return c.w.Error()
}
