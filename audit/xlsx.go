package audit

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
)

// The XLSX register is written by hand as the smallest Office Open XML
// workbook that Excel, LibreOffice and Google Sheets open: one sheet with
// inline strings, streamed row by row into the last part of the zip, so
// that memory does not grow with the school.
type xlsxRegister struct {
	z     *zip.Writer
	sheet *bufio.Writer
	f     fmtr
	row   int
}

var xlsxParts = []struct{ name, body string }{
	{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
	{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
	{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Access register" sheetId="1" r:id="rId1"/></sheets></workbook>`},
	{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
}

func newXLSXRegister(w io.Writer, f fmtr) (*xlsxRegister, error) {
	x, err := newXLSXSheet(w, "Access register", RegisterHeader())
	if x != nil {
		x.f = f
	}
	return x, err
}

// newXLSXSheet starts a workbook of one sheet, named sheet, whose first
// row is header.
func newXLSXSheet(w io.Writer, sheet string, header []string) (*xlsxRegister, error) {
	var name strings.Builder
	xml.EscapeText(&name, []byte(xmlSafe(sheet)))
	z := zip.NewWriter(w)
	for _, p := range xlsxParts {
		pw, err := z.Create(p.name)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(pw, strings.Replace(p.body, `name="Access register"`, `name="`+name.String()+`"`, 1)); err != nil {
			return nil, err
		}
	}
	sw, err := z.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		return nil, err
	}
	x := &xlsxRegister{z: z, sheet: bufio.NewWriter(sw)}
	x.sheet.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	x.writeRow(header, -1)
	return x, nil
}

// writeRow writes cells as inline strings; the cell at number (if any) is
// written as a number.
func (x *xlsxRegister) writeRow(cells []string, number int) {
	x.row++
	r := strconv.Itoa(x.row)
	x.sheet.WriteString(`<row r="` + r + `">`)
	for i, v := range cells {
		if v == "" {
			continue
		}
		ref := colName(i) + r
		if i == number {
			x.sheet.WriteString(`<c r="` + ref + `"><v>` + v + `</v></c>`)
			continue
		}
		x.sheet.WriteString(`<c r="` + ref + `" t="inlineStr"><is><t xml:space="preserve">`)
		xml.EscapeText(x.sheet, []byte(xmlSafe(v)))
		x.sheet.WriteString(`</t></is></c>`)
	}
	x.sheet.WriteString(`</row>`)
}

func (x *xlsxRegister) Write(row RegisterRow) error {
	cells := make([]string, len(columns))
	num := -1
	for i, c := range columns {
		cells[i] = c.get(&row, x.f)
		if c.key == "passkeys" {
			num = i
		}
	}
	x.writeRow(cells, num)
	if x.sheet.Buffered() > 32<<10 {
		return x.sheet.Flush()
	}
	return nil
}

// WriteCells writes one row of a table (see NewTableWriter).
func (x *xlsxRegister) WriteCells(cells []string) error {
	x.writeRow(cells, -1)
	if x.sheet.Buffered() > 32<<10 {
		return x.sheet.Flush()
	}
	return nil
}

func (x *xlsxRegister) Close() error {
	x.sheet.WriteString(`</sheetData></worksheet>`)
	if err := x.sheet.Flush(); err != nil {
		return err
	}
	return x.z.Close()
}

// colName is the spreadsheet column of index i: A … Z, AA, …
func colName(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// xmlSafe drops the control characters that XML 1.0 cannot carry at all
// (escaping does not help): a stray one from the MIS would make the whole
// workbook unreadable.
func xmlSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			b := make([]byte, 0, len(s))
			for j := 0; j < len(s); j++ {
				if c := s[j]; c >= 0x20 || c == '\t' || c == '\n' || c == '\r' {
					b = append(b, c)
				}
			}
			return string(b)
		}
	}
	return s
}
