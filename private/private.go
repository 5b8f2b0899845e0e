// Package private makes the files that hold password hashes or personal
// data (the database, backups, plans, exports, keys) readable by their
// owner only: files 0600, their directories 0700, whatever the umask and
// whatever mode an existing file or directory had. It must not loosen a
// mode, and must not touch a directory shared with others (/tmp).
package private

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The modes of private files and directories.
const (
	FileMode fs.FileMode = 0o600
	DirMode  fs.FileMode = 0o700
)

// WriteFile writes data to path, creating it or truncating it, and leaves
// it 0600 even when it existed with a wider mode.
func WriteFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, FileMode)
	if err != nil {
		return err
	}
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// CreateNew makes an empty file at path, 0600, failing if it exists.
func CreateNew(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return err
	}
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Tighten makes an existing file 0600; a missing one is no error.
func Tighten(path string) error {
	st, err := os.Stat(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode().Perm()&^FileMode != 0 {
		return os.Chmod(path, st.Mode().Perm()&FileMode)
	}
	return nil
}

// Dir makes path a directory, 0700, creating it and its parents as
// needed. An existing directory is tightened to 0700 (one made under a
// umask of 002 included), except a sticky one such as /tmp, shared by
// everyone: that is an error, since what it holds is not private.
func Dir(path string) error {
	if err := os.MkdirAll(path, DirMode); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	if st.Mode()&fs.ModeSticky != 0 {
		return fmt.Errorf("%s is shared with every user: keep Keystage's data in a directory of its own", path)
	}
	if st.Mode().Perm() != DirMode {
		if err := os.Chmod(path, DirMode); err != nil {
			return fmt.Errorf("%s must be readable by its owner only (chmod 700 it, as its owner): %w", path, err)
		}
	}
	return nil
}

// Replace replaces path with data, 0600, so that a crash leaves the old
// file or the new one, never half of either.
func Replace(path string, data []byte) error {
	return ReplaceFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// ReplaceFunc writes a file through write into a temporary file beside
// path and renames it over path, 0600, once it is whole and synced, so a
// reader never sees half of it.
func ReplaceFunc(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keystage-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(FileMode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
