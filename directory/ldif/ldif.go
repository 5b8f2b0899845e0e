// Package ldif reads LDAP Data Interchange Format content records (RFC 2849)
// as slapcat, ldapsearch, ldbsearch and samba-tool write them, for taking
// over an old directory. It reads untrusted bytes: every line, value and
// entry is bounded, and it never follows a "<" URL value (it would read a
// file named by the input). It does not write LDIF or apply change records.
package ldif

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors of Reader.Next; each is wrapped with the line where it was found.
var (
	// ErrSyntax: the input is not LDIF.
	ErrSyntax = errors.New("ldif: syntax error")
	// ErrTooLarge: a line or an entry is beyond the bounds below.
	ErrTooLarge = errors.New("ldif: entry too large")
	// ErrUnsupported: a change record or a URL value, which an export of
	// entries has no need of.
	ErrUnsupported = errors.New("ldif: unsupported")
)

// Bounds on what one entry may hold. A directory entry with its photo is
// well under a megabyte; an export larger than that is not what this reads.
const (
	MaxLineBytes  = 1 << 20
	MaxEntryBytes = 4 << 20
	MaxAttrs      = 10_000
)

// Attr is one attribute value. Name is as written, options included
// ("userCertificate;binary").
type Attr struct {
	Name  string
	Value []byte
}

// Entry is one content record.
type Entry struct {
	DN    string
	Attrs []Attr
	Line  int // where the record starts, for messages
}

// Values returns the values of the attribute name (without regard to case,
// and with or without options), in order.
func (e Entry) Values(name string) [][]byte {
	var out [][]byte
	for _, a := range e.Attrs {
		base, _, _ := strings.Cut(a.Name, ";")
		if strings.EqualFold(base, name) {
			out = append(out, a.Value)
		}
	}
	return out
}

// First returns the first value of name as a string, or "".
func (e Entry) First(name string) string {
	if v := e.Values(name); len(v) > 0 {
		return string(v[0])
	}
	return ""
}

// Has reports whether any value of name equals value, without regard to
// case (for objectClass).
func (e Entry) Has(name, value string) bool {
	for _, v := range e.Values(name) {
		if strings.EqualFold(string(v), value) {
			return true
		}
	}
	return false
}

// Reader reads entries one at a time, in memory bounded by MaxEntryBytes.
type Reader struct {
	br      *bufio.Reader
	line    int  // lines read
	started bool // past the optional version line
	peeked  []byte
	hasPeek bool
	eof     bool
}

// NewReader reads LDIF from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// rawLine returns the next physical line without its line ending; io.EOF
// after the last.
func (r *Reader) rawLine() ([]byte, error) {
	if r.hasPeek {
		r.hasPeek = false
		return r.peeked, nil
	}
	if r.eof {
		return nil, io.EOF
	}
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLineBytes {
			return nil, fmt.Errorf("line %d: %w: a line longer than %d bytes", r.line+1, ErrTooLarge, MaxLineBytes)
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			r.eof = true
			if len(buf) == 0 {
				return nil, io.EOF
			}
		} else if err != nil {
			return nil, err
		}
		break
	}
	r.line++
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	return buf, nil
}

func (r *Reader) unread(l []byte) { r.peeked, r.hasPeek = l, true }

// logicalLine joins a line with its continuations (lines that start with
// one space). total counts the bytes of the entry so far.
func (r *Reader) logicalLine(first []byte, total *int) ([]byte, error) {
	l := append([]byte(nil), first...)
	for {
		next, err := r.rawLine()
		if err == io.EOF {
			return l, nil
		}
		if err != nil {
			return nil, err
		}
		if len(next) == 0 || next[0] != ' ' {
			r.unread(next)
			return l, nil
		}
		if *total += len(next); *total > MaxEntryBytes {
			return nil, fmt.Errorf("line %d: %w: an entry longer than %d bytes", r.line, ErrTooLarge, MaxEntryBytes)
		}
		l = append(l, next[1:]...)
	}
}

// Next returns the next entry; io.EOF after the last.
func (r *Reader) Next() (Entry, error) {
	var e Entry
	total := 0
	skipping := false // a search reference or result, not an entry
	for {
		raw, err := r.rawLine()
		if err == io.EOF {
			if e.DN == "" && len(e.Attrs) == 0 {
				return Entry{}, io.EOF
			}
			return e, nil
		}
		if err != nil {
			return Entry{}, err
		}
		if len(raw) == 0 {
			if e.Line != 0 {
				return e, nil
			}
			skipping = false
			continue // blank lines between records
		}
		if raw[0] == ' ' {
			return Entry{}, fmt.Errorf("line %d: %w: a continuation with nothing before it", r.line, ErrSyntax)
		}
		if total += len(raw); total > MaxEntryBytes {
			return Entry{}, fmt.Errorf("line %d: %w: an entry longer than %d bytes", r.line, ErrTooLarge, MaxEntryBytes)
		}
		start := r.line
		l, err := r.logicalLine(raw, &total)
		if err != nil {
			return Entry{}, err
		}
		if l[0] == '#' {
			continue // a comment, with its continuations
		}
		name, value, err := parseLine(l)
		if err != nil {
			return Entry{}, fmt.Errorf("line %d: %w", start, err)
		}
		if !r.started {
			r.started = true
			if strings.EqualFold(name, "version") && e.Line == 0 {
				if string(value) != "1" {
					return Entry{}, fmt.Errorf("line %d: %w: version %q, want 1", start, ErrUnsupported, value)
				}
				continue
			}
		}
		if skipping {
			continue
		}
		if e.Line == 0 {
			// What ldapsearch and ldbsearch print besides entries: a
			// search reference ("ref: ldap:///…") and the result lines.
			if strings.EqualFold(name, "ref") || strings.EqualFold(name, "search") {
				skipping = true
				continue
			}
			if !strings.EqualFold(name, "dn") {
				return Entry{}, fmt.Errorf("line %d: %w: a record starts with %q, want dn", start, ErrSyntax, name)
			}
			e.DN, e.Line = string(value), start
			continue
		}
		switch {
		case strings.EqualFold(name, "dn"):
			return Entry{}, fmt.Errorf("line %d: %w: a second dn without a blank line before it", start, ErrSyntax)
		case strings.EqualFold(name, "changetype"), strings.EqualFold(name, "control"):
			return Entry{}, fmt.Errorf("line %d: %w: change records (%s); export the entries instead", start, ErrUnsupported, name)
		}
		if len(e.Attrs) >= MaxAttrs {
			return Entry{}, fmt.Errorf("line %d: %w: more than %d values in one entry", start, ErrTooLarge, MaxAttrs)
		}
		e.Attrs = append(e.Attrs, Attr{Name: name, Value: value})
	}
}

// parseLine splits "name: value", "name:: base64" and refuses "name:< url".
func parseLine(l []byte) (string, []byte, error) {
	i := bytes.IndexByte(l, ':')
	if i <= 0 {
		return "", nil, fmt.Errorf("%w: no attribute name before a colon", ErrSyntax)
	}
	name := string(l[:i])
	if !validName(name) {
		return "", nil, fmt.Errorf("%w: attribute name %q", ErrSyntax, truncate(name))
	}
	rest := l[i+1:]
	switch {
	case len(rest) > 0 && rest[0] == ':':
		enc := bytes.TrimLeft(rest[1:], " ")
		v := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
		n, err := base64.StdEncoding.Decode(v, enc)
		if err != nil {
			return "", nil, fmt.Errorf("%w: %s is not base64", ErrSyntax, truncate(name))
		}
		return name, v[:n], nil
	case len(rest) > 0 && rest[0] == '<':
		return "", nil, fmt.Errorf("%w: %s is a URL value; export with the values inline", ErrUnsupported, truncate(name))
	}
	return name, append([]byte(nil), bytes.TrimLeft(rest, " ")...), nil
}

// validName: an attribute description, letters, digits, "-" and ";"
// options, or a numeric OID.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == ';' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
