package lifecycle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// csvTable reads one CSV file a row at a time with its columns found by
// header name. Exports from MIS reports and rostering services differ in
// column order, case, a byte-order mark and trailing empty columns, so none
// of those matter here; what the reader needs is the physical line of each
// row, a quoted newline counted, for the refusals a technician reads.
type csvTable struct {
	file   string
	r      *csv.Reader
	header []string
	cols   map[string]int // folded header name → index of its first occurrence
	// lastLine is the line the last row started on.
	lastLine int
}

var (
	// errNoHeader is a file with nothing in it, not even a header row.
	errNoHeader = errors.New("the file is empty: it has no header row")
	// errNotUTF8 is a file saved in another encoding (Windows "ANSI" is
	// the usual one). Which one cannot be known for sure, and a wrong
	// guess would misspell names in every account, so the read stops.
	errNotUTF8 = errors.New("is not UTF-8 text: save the report again as \"CSV UTF-8\" (in Excel: Save As, CSV UTF-8 (Comma delimited))")
)

// newCSVTable reads the header row of r.
func newCSVTable(file string, r io.Reader) (*csvTable, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	t := &csvTable{file: file, r: cr, cols: map[string]int{}}
	if err := t.readHeader(); err != nil {
		return nil, err
	}
	return t, nil
}

// readHeader takes the next row as the header.
func (t *csvTable) readHeader() error {
	h, err := t.r.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", t.file, errNoHeader)
	}
	if err != nil {
		return fmt.Errorf("%s: header row: %w", t.file, err)
	}
	for _, name := range h {
		if !utf8.ValidString(name) {
			return fmt.Errorf("%s: the header row %w", t.file, errNotUTF8)
		}
	}
	t.header = make([]string, len(h))
	t.cols = make(map[string]int, len(h))
	for i, name := range h {
		t.header[i] = strings.TrimSpace(name)
		k := foldHeader(name)
		if _, dup := t.cols[k]; !dup && k != "" {
			t.cols[k] = i
		}
	}
	return nil
}

// maxPreamble is how many rows before the header a report may print (a
// title, the date it was run, a blank line).
const maxPreamble = 5

// findHeader moves past a report's title rows to the first row that has
// the column want, when the first row does not. When no row near the top
// has it the first row stays the header, so that the error names it.
func (t *csvTable) findHeader(want string) {
	if want == "" || t.col(want) >= 0 {
		return
	}
	header, cols := t.header, t.cols
	for range maxPreamble {
		if t.readHeader() != nil {
			break
		}
		if t.col(want) >= 0 {
			return
		}
	}
	t.header, t.cols = header, cols
}

// foldHeader makes header names compare without case, spaces or
// punctuation: "MIS ID", "mis_id" and "MisId" are one column.
func foldHeader(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(s)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c > 0x7f {
			b.WriteRune(c)
		}
	}
	return norm.NFC.String(b.String())
}

// col is the index of the first of names present in the header, or -1.
func (t *csvTable) col(names ...string) int {
	for _, n := range names {
		if i, ok := t.cols[foldHeader(n)]; ok {
			return i
		}
	}
	return -1
}

// rowError is a row the CSV syntax itself made unreadable (a stray quote),
// with the line it started on.
type rowError struct {
	Line int
	Err  error
}

func (e *rowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *rowError) Unwrap() error { return e.Err }

// next returns the next row that holds anything and the line it starts on.
// Blank rows (nothing but commas) are passed over. At the end it returns
// io.EOF; a malformed row is a *rowError, after which reading may go on.
// The row is reused by the next call.
func (t *csvTable) next() ([]string, int, error) {
	for {
		row, err := t.r.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				t.lastLine = pe.StartLine
				return nil, pe.StartLine, &rowError{Line: pe.StartLine, Err: pe.Err}
			}
			return nil, 0, err
		}
		line, _ := t.r.FieldPos(0)
		t.lastLine = line
		if blankRow(row) {
			continue
		}
		for _, f := range row {
			if !utf8.ValidString(f) {
				return nil, line, fmt.Errorf("line %d %w", line, errNotUTF8)
			}
		}
		return row, line, nil
	}
}

func blankRow(row []string) bool {
	for _, f := range row {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// field is the trimmed, NFC-normalised text of column i of row; "" when the
// column is absent from the file or the row is short.
func field(row []string, i int) string {
	if i < 0 || i >= len(row) {
		return ""
	}
	s := strings.TrimSpace(row[i])
	if isPlain(s) {
		// Most fields are printable ASCII: nothing to fold or normalise.
		return s
	}
	if strings.ContainsAny(s, "\r\n\t") {
		// A quoted newline inside a name or a group is a typing slip in the
		// MIS, not part of the name.
		s = strings.Join(strings.Fields(s), " ")
	}
	if isASCII(s) {
		return s
	}
	return norm.NFC.String(s)
}

// isPlain is true for printable ASCII.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// each calls fn with every row and its line until the end of the file or
// fn's error; a row the CSV syntax broke goes to bad instead (nil: passed
// over). It stops early when ctx is done.
func (t *csvTable) each(ctx context.Context, bad func(*rowError), fn func(row []string, line int) error) error {
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		row, line, err := t.next()
		var re *rowError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &re):
			if bad != nil {
				bad(re)
			}
		case err != nil:
			return fmt.Errorf("%w: %s: %v", ErrBadExport, t.file, err)
		default:
			if err := fn(row, line); err != nil {
				return err
			}
		}
	}
}

// csvSyntaxReason says what is wrong with a row the CSV syntax broke.
func csvSyntaxReason(re *rowError) string {
	switch {
	case errors.Is(re.Err, csv.ErrBareQuote):
		return "the row has a double quote inside an unquoted field: quote the whole field (\"O\"\"Brien\") or remove the quote, then export again"
	case errors.Is(re.Err, csv.ErrQuote):
		return "a quoted field is never closed, so this row and everything after it could not be read: fix the quote and export again"
	}
	return "the row is not valid CSV (" + re.Err.Error() + "): export again"
}
