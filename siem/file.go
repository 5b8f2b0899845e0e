package siem

import (
	"context"
	"fmt"
	"os"
)

// File appends records as JSON Lines to a file for an agent (Filebeat,
// Fluent Bit, the Elastic or Splunk agent) to ship: created 0600, since
// events name people; when it would pass MaxBytes it is renamed to
// Path.1 (replacing the one before) and a new one started, so it stays
// bounded at twice MaxBytes.
type File struct {
	Path     string
	MaxBytes int64 // default 100 MiB

	f    *os.File
	size int64
}

const defaultFileMax = 100 << 20

// Send appends one line.
func (w *File) Send(_ context.Context, m Message) error {
	max := w.MaxBytes
	if max <= 0 {
		max = defaultFileMax
	}
	line := append(append(make([]byte, 0, len(m.Body)+1), m.Body...), '\n')
	if w.f != nil && w.size > 0 && w.size+int64(len(line)) > max {
		w.Close()
		if err := os.Rename(w.Path, w.Path+".1"); err != nil {
			return fmt.Errorf("siem file: rotate: %w", err)
		}
	}
	if w.f == nil {
		f, err := os.OpenFile(w.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("siem file: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("siem file: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := f.Chmod(0o600); err != nil {
				f.Close()
				return fmt.Errorf("siem file: %s is readable by others and cannot be made 0600: %w", w.Path, err)
			}
		}
		w.f, w.size = f, st.Size()
	}
	n, err := w.f.Write(line)
	w.size += int64(n)
	if err != nil {
		w.Close()
		return fmt.Errorf("siem file: %w", err)
	}
	return nil
}

// Close closes the file.
func (w *File) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
