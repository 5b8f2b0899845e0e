package lifecycle

import (
	"archive/zip"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// openExportFS opens a folder or a .zip as a file system rooted where
// manifest.csv is: at the top, or in the one folder a zip often wraps it in.
func openExportFS(p string) (fs.FS, func(), error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("oneroster %s: %w: check the path names the export folder or .zip", p, err)
	}
	var fsys fs.FS
	closeFS := func() {}
	if st.IsDir() {
		fsys = os.DirFS(p)
	} else {
		zr, err := zip.OpenReader(p)
		if err != nil {
			return nil, nil, fmt.Errorf("oneroster %s: %w: not a folder and not a zip file (%v)", p, ErrBadExport, err)
		}
		fsys, closeFS = zr, func() { _ = zr.Close() }
	}
	if _, ok := findFile(fsys, "manifest.csv"); !ok {
		if dir, ok := onlyFolder(fsys); ok {
			if sub, err := fs.Sub(fsys, dir); err == nil {
				fsys = sub
			}
		}
	}
	return fsys, closeFS, nil
}

// onlyFolder is the one folder at the top of fsys, not counting what a
// Mac adds to a zip it makes (__MACOSX, ._ files, .DS_Store).
func onlyFolder(fsys fs.FS) (string, bool) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "", false
	}
	var dirs []string
	for _, e := range ents {
		if e.Name() == "__MACOSX" || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !e.IsDir() {
			return "", false
		}
		dirs = append(dirs, e.Name())
	}
	if len(dirs) != 1 {
		return "", false
	}
	return dirs[0], true
}

// findFile finds a file at the top of fsys whatever the case of its name
// (exporters write userProfiles.csv and userprofiles.csv).
func findFile(fsys fs.FS, name string) (string, bool) {
	if st, err := fs.Stat(fsys, name); err == nil && !st.IsDir() {
		return name, true
	}
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return "", false
	}
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(e.Name(), name) {
			return e.Name(), true
		}
	}
	return "", false
}

// fsTable is a csvTable over a file of an export.
type fsTable struct {
	*csvTable
	f fs.File
}

func (t *fsTable) close() { _ = t.f.Close() }

func openTable(fsys fs.FS, name string) (*fsTable, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadExport, err)
	}
	t, err := newCSVTable(name, f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %v", ErrBadExport, err)
	}
	return &fsTable{csvTable: t, f: f}, nil
}

// openListed opens a file the manifest lists as bulk or delta; ok is false
// when the manifest says absent. A listed file that is not there is an
// error: the export is incomplete.
func openListed(fsys fs.FS, m manifest, base string) (*fsTable, bool, error) {
	if m.mode(base) == "absent" {
		return nil, false, nil
	}
	name, found := findFile(fsys, base+".csv")
	if !found {
		return nil, false, fmt.Errorf("%w: manifest.csv lists %s as %s but %s.csv is not in the export; export again, whole", ErrBadExport, base, m.mode(base), base)
	}
	t, err := openTable(fsys, name)
	if err != nil {
		return nil, false, err
	}
	return t, true, nil
}

// requireCols fails the read naming the first of each group of names when
// none of a group is in the header.
func requireCols(t *fsTable, groups ...[]string) error {
	var missing []string
	for _, g := range groups {
		if t.col(g...) < 0 {
			missing = append(missing, g[0])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s has no %s column; its header is %s", ErrBadExport, t.file, strings.Join(missing, ", "), strings.Join(t.header, ","))
	}
	return nil
}
