// Package deploy holds the files that install Keystage (the systemd unit,
// the container file, the production configuration) and the tests that
// check them against the binary they install.
package deploy

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// binary is the keystage binary built once for these tests, the way the
// container file builds it: no cgo.
var binary struct {
	once sync.Once
	path string
	err  error
}

func build(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "keystage-deploy")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "keystage")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binary.path, "../cmd/keystage")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("static build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}

func TestStaticBinary(t *testing.T) {
	bin := build(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary asks for a dynamic loader: it would not run in a distroless image")
		}
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "keystage ") {
		t.Fatalf("version: %s %v", out, err)
	}
}

// The production configuration is one the binary accepts.
func TestProductionConfigChecks(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	conf, err := os.ReadFile("keystage.toml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keystage.toml")
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", path, "config", "check")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("deploy/keystage.toml does not check: %v\n%s%s", err, out, stderr.String())
	}
}

func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not verified here")
	}
	// Verify against a copy whose ExecStart names a binary that exists.
	bin := build(t)
	unit, err := os.ReadFile("keystage.service")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/keystage", bin)
	path := filepath.Join(t.TempDir(), "keystage.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// systemd-analyze warns about things outside the unit (no running
	// systemd in a container); only lines naming the unit are faults.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "keystage.service") {
			t.Errorf("systemd-analyze: %s", line)
		}
	}
	if err != nil && len(out) == 0 {
		t.Fatalf("systemd-analyze: %v", err)
	}
}
