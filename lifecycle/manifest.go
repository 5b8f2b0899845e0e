package lifecycle

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"strings"
)

// manifest is what manifest.csv says: the version and, per file, bulk,
// delta or absent.
type manifest struct {
	version string
	// format is manifest.version, the version of the manifest itself
	// (1.0 in OneRoster 1.1 and 1.2).
	format string
	files  map[string]string // lower-case file name without .csv → "bulk", "delta", "absent"
}

func (m manifest) mode(file string) string {
	if v := m.files[strings.ToLower(file)]; v != "" {
		return v
	}
	return "absent"
}

func readManifest(fsys fs.FS) (manifest, error) {
	m := manifest{files: map[string]string{}}
	name, ok := findFile(fsys, "manifest.csv")
	if !ok {
		return m, fmt.Errorf("%w: manifest.csv is missing: every OneRoster CSV export has one at the top of the folder or zip; export again, whole", ErrBadExport)
	}
	t, err := openTable(fsys, name)
	if err != nil {
		return m, err
	}
	defer t.close()
	pc, vc := t.col("propertyName"), t.col("value")
	if pc < 0 || vc < 0 {
		return m, fmt.Errorf("%w: %s has no propertyName and value columns", ErrBadExport, name)
	}
	var broken error
	err = t.each(context.Background(), func(re *rowError) {
		broken = fmt.Errorf("%w: %s line %d: %v", ErrBadExport, name, re.Line, re.Err)
	}, func(row []string, line int) error {
		prop, val := strings.ToLower(field(row, pc)), strings.ToLower(field(row, vc))
		switch {
		case prop == "manifest.version":
			m.format = strings.TrimPrefix(val, "v")
		case prop == "oneroster.version":
			m.version = strings.TrimPrefix(val, "v")
		case strings.HasPrefix(prop, "file."):
			switch val {
			case "bulk", "delta", "absent":
			case "":
				// Left empty by some exporters; the specification's word is absent.
				val = "absent"
			default:
				return fmt.Errorf("%w: %s line %d: %s is %q; the specification allows bulk, delta or absent", ErrBadExport, name, line, field(row, pc), field(row, vc))
			}
			m.files[strings.TrimPrefix(prop, "file.")] = val
		}
		return nil
	})
	if err = cmp.Or(err, broken); err != nil {
		return m, err
	}
	switch m.format {
	case "", "1.0":
		// Absent in some older exports: the version of the data below
		// still decides.
	default:
		return m, fmt.Errorf("%w: %s says manifest.version %s; Keystage knows manifest version 1.0 (OneRoster 1.1 and 1.2): check the export is OneRoster CSV, and export it in 1.1 or 1.2", ErrBadExport, name, m.format)
	}
	switch m.version {
	case "1.1", "1.2":
	case "":
		return m, fmt.Errorf("%w: %s does not give oneroster.version; Keystage reads OneRoster 1.1 and 1.2", ErrBadExport, name)
	default:
		return m, fmt.Errorf("%w: %s says oneroster.version %s; Keystage reads OneRoster 1.1 and 1.2: export in one of those", ErrBadExport, name, m.version)
	}
	return m, nil
}
