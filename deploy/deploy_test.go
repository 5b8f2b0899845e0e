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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"keystage.dev/keystage/pki"
)

// binary is the keystage binary built once for these tests by the
// container file's own build command, so that a change there that breaks
// the build fails here, where images cannot be pulled.
var binary struct {
	once sync.Once
	path string
	err  error
}

// testVersion is what the build stamps into the binary (ARG VERSION).
const testVersion = "deploy-test"

// containerBuild is the container file's `RUN CGO_ENABLED=0 go build` line,
// with the version and output path of this test.
func containerBuild(out string) (string, error) {
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if cmd, ok := strings.CutPrefix(line, "RUN CGO_ENABLED=0 go build"); ok {
			cmd = "CGO_ENABLED=0 go build" + cmd
			cmd = strings.ReplaceAll(cmd, "${VERSION}", testVersion)
			if !strings.Contains(cmd, "-o /out/keystage") {
				return "", fmt.Errorf("Containerfile: the build no longer writes /out/keystage: %s", line)
			}
			return strings.Replace(cmd, "-o /out/keystage", "-o "+out, 1), nil
		}
	}
	return "", fmt.Errorf("Containerfile: no RUN CGO_ENABLED=0 go build line")
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
		line, err := containerBuild(binary.path)
		if err != nil {
			binary.err = err
			return
		}
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir = ".." // the container's WORKDIR holds the whole module
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("static build (%s): %v\n%s", line, err, out)
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
	if err != nil || strings.TrimSpace(string(out)) != "keystage "+testVersion {
		t.Fatalf("version: %s %v", out, err)
	}
}

// The production configuration is one the binary accepts, once the files
// it names are in place: config check also reads the certificates and the
// data directory that serve will need.
func TestProductionConfigChecks(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	conf, err := os.ReadFile("keystage.toml")
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.NewReplacer("/etc/keystage/", dir+"/", "/var/lib/keystage", dir).Replace(string(conf)))
	for _, name := range []string{"ldap", "radius", "portal"} {
		cert, key, err := pki.SelfSignedPEM("Keystage LDAP (self-signed)", "", []string{"localhost"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".crt"), cert, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
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
	analyze := needTool(t, "systemd-analyze", "systemd")
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

// The unit has what the deployment guide promises: its own user, a
// read-only system, and only the capability to bind low ports.
func TestSystemdUnitSandbox(t *testing.T) {
	unit, err := os.ReadFile("keystage.service")
	if err != nil {
		t.Fatal(err)
	}
	set := map[string][]string{}
	for _, line := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			set[k] = append(set[k], v)
		}
	}
	for _, want := range []struct{ key, value string }{
		{"DynamicUser", "yes"},
		{"ProtectSystem", "strict"},
		{"AmbientCapabilities", "CAP_NET_BIND_SERVICE"},
		{"CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"},
		{"NoNewPrivileges", "yes"},
		{"StateDirectory", "keystage"},
		{"KillSignal", "SIGTERM"},
	} {
		if !slices.Contains(set[want.key], want.value) {
			t.Errorf("keystage.service: want %s=%s, have %v", want.key, want.value, set[want.key])
		}
	}
	analyze := needTool(t, "systemd-analyze", "systemd")
	// systemd's own score of the sandbox, 0 (locked down) to 10 (none):
	// fail above 2.0, systemd's "OK".
	path, err := filepath.Abs("keystage.service")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "security", "--offline=yes", "--threshold=20", path).CombinedOutput()
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Errorf("systemd-analyze security: %v: %s", err, lines[len(lines)-1])
	}
}
