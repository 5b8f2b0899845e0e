package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The container's data directory holds every hash and name: the container
// file makes it 0700 whatever the build's umask.
func TestContainerDataDirectoryIsPrivate(t *testing.T) {
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "RUN mkdir -p /out/data") {
			line = strings.TrimPrefix(l, "RUN ")
		}
	}
	if line == "" {
		t.Fatal("Containerfile: no RUN mkdir -p /out/data line")
	}
	out := t.TempDir()
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	if b, err := exec.Command("sh", "-c", strings.ReplaceAll(line, "/out", out)).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v %s", line, err, b)
	}
	st, err := os.Stat(filepath.Join(out, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Mode().Perm(); m != 0o700 {
		t.Errorf("the container's /var/lib/keystage would be %o, want 700", m)
	}
}
