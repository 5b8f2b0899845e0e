package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of a read as a whole (a row's problems are Refusals instead).
var (
	// ErrUnknownSource is a --from that names no reader Keystage has.
	ErrUnknownSource = errors.New("unknown MIS source")
	// ErrBadExport is an export that is not what it should be: a file or a
	// column missing, a OneRoster version Keystage does not read.
	ErrBadExport = errors.New("the export cannot be read")
	// ErrBadMapping is a CSV column mapping that cannot work.
	ErrBadMapping = errors.New("the CSV column mapping is wrong")
)

// ReadOptions is what a reader needs besides the path.
type ReadOptions struct {
	// Mapping says which column of a plain CSV holds what (csv: sources).
	Mapping CSVMapping
	// Location is the school's time zone: a date without a zone ("start
	// date 03/09/2026") is midnight there. Nil is UTC.
	Location *time.Location
}

// Open returns the reader a source spec names: "oneroster:PATH", a
// OneRoster CSV export as a folder or .zip, or "csv:PATH", a CSV report
// read through opt.Mapping. Nothing is read until Read.
func Open(spec string, opt ReadOptions) (Source, error) {
	kind, path, ok := strings.Cut(spec, ":")
	if ok && path == "" {
		return nil, fmt.Errorf("source %q: %w: give the path after the colon, e.g. %s:/srv/mis/export", spec, ErrUnknownSource, kind)
	}
	switch strings.ToLower(kind) {
	case "oneroster":
		return &OneRoster{Path: path, Location: opt.Location}, nil
	case "csv":
		if err := opt.Mapping.Validate(); err != nil {
			return nil, err
		}
		return &MappedCSV{Path: path, Mapping: opt.Mapping, Location: opt.Location}, nil
	}
	return nil, fmt.Errorf("source %q: %w: write oneroster:PATH for a OneRoster CSV folder or .zip, or csv:PATH for a CSV report with the [sync.csv] column mapping", spec, ErrUnknownSource)
}
