package private

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// Whatever the umask and whatever an existing file's mode, what these
// write is 0600 in a 0700 directory.
func TestModesWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o775); err != nil { // as a umask of 002 makes it
		t.Fatal(err)
	}
	if err := Dir(dir); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("directory %o, want 700", m)
	}
	f := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(f, []byte("old"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(f, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, f); m != 0o600 {
		t.Errorf("rewritten file %o, want 600", m)
	}
	n := filepath.Join(dir, "backup.db")
	if err := CreateNew(n); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, n); m != 0o600 {
		t.Errorf("new file %o, want 600", m)
	}
	if err := CreateNew(n); err == nil {
		t.Error("CreateNew over an existing file")
	}
	w := filepath.Join(dir, "wide")
	os.WriteFile(w, nil, 0o644)
	if err := Tighten(w); err != nil || mode(t, w) != 0o600 {
		t.Errorf("tightened %o %v", mode(t, w), err)
	}
	shared := filepath.Join(t.TempDir(), "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, os.ModeSticky|0o777)
	if err := Dir(shared); err == nil {
		t.Error("a directory others can write to was taken as private")
	}
}

// Replace leaves the whole new content, 0600, over a wider file, and a
// failed write leaves the old file and no temporary file beside it.
func TestReplace(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	f := filepath.Join(dir, "keystage.keys")
	if err := os.WriteFile(f, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Replace(f, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f); string(b) != "new" || mode(t, f) != 0o600 {
		t.Errorf("replaced: %q %o, want \"new\" 600", b, mode(t, f))
	}
	if err := ReplaceFunc(f, func(w io.Writer) error {
		w.Write([]byte("half"))
		return errors.New("disk full")
	}); err == nil {
		t.Error("a failed write reported no error")
	}
	if b, _ := os.ReadFile(f); string(b) != "new" {
		t.Errorf("after a failed write: %q, want the old content", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left in the folder: %v", ents)
	}
}
