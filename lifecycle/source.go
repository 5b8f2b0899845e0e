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
	// Reports are further CSV reports read together with the source, as
	// one export (see Merge): for an MIS that reports pupils and staff
	// separately, or a OneRoster export that holds pupils only.
	Reports []CSVReport
	// Grades turns OneRoster grade codes into year groups (oneroster:
	// sources).
	Grades GradeMapping
	// Orgs reads each person's OneRoster orgs too (a trust's export, split
	// by school with SplitByOrg).
	Orgs bool
}

// CSVReport is one more CSV report and its mapping: a [[sync.reports]]
// table.
type CSVReport struct {
	Path    string     `toml:"path"`
	Mapping CSVMapping `toml:"mapping"`
}

// Open returns the reader a source spec names: "oneroster:PATH", a
// OneRoster CSV export as a folder or .zip, or "csv:PATH", a CSV report
// read through opt.Mapping. Nothing is read until Read.
func Open(spec string, opt ReadOptions) (Source, error) {
	kind, path, ok := strings.Cut(spec, ":")
	if ok && path == "" {
		return nil, fmt.Errorf("source %q: %w: give the path after the colon, e.g. %s:/srv/mis/export", spec, ErrUnknownSource, kind)
	}
	var main Source
	switch strings.ToLower(kind) {
	case "oneroster":
		main = &OneRoster{Path: path, Location: opt.Location, Grades: opt.Grades, Orgs: opt.Orgs}
	case "csv":
		if err := opt.Mapping.Validate(); err != nil {
			return nil, err
		}
		main = &MappedCSV{Path: path, Mapping: opt.Mapping, Location: opt.Location}
	default:
		return nil, fmt.Errorf("source %q: %w: write oneroster:PATH for a OneRoster CSV folder or .zip, or csv:PATH for a CSV report with the [sync.csv] column mapping", spec, ErrUnknownSource)
	}
	if len(opt.Reports) == 0 {
		return main, nil
	}
	sources := []Source{main}
	var errs []error
	for i, r := range opt.Reports {
		if r.Path == "" {
			errs = append(errs, fmt.Errorf("report %d: %w: path is not set", i+1, ErrBadMapping))
		}
		if err := r.Mapping.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("report %d (%s): %w", i+1, r.Path, err))
		}
		sources = append(sources, &MappedCSV{Path: r.Path, Mapping: r.Mapping, Location: opt.Location})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return Merge(sources...), nil
}
