package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort finds a loopback port nobody listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy waits until a server's /healthz says 200; the deadline only
// bounds a broken test. log gives the server's log for the failure.
func waitHealthy(t *testing.T, addr string, log func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never answered on %s:\n%s", addr, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keystage serve stops cleanly on SIGTERM (systemd's stop), and a second
// server on the same SQLite store is refused with one line.
func TestServeStopsOnSIGTERMAndRefusesASecondServer(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	addr := freePort(t)
	conf := filepath.Join(dir, "keystage.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("data_dir = %q\n[metrics]\nlisten = %q\n", dir, addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", conf, "serve")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHealthy(t, addr, stderr.String)

	second := exec.Command(bin, "--config", conf, "serve")
	out, err := second.CombinedOutput()
	if err == nil {
		t.Fatal("a second server on the same store started")
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "another keystage process") {
		t.Errorf("second server's error: %q", out)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(&stderr)
	stopped := false
	for sc.Scan() {
		stopped = stopped || strings.Contains(sc.Text(), "msg=stopped")
	}
	if !stopped {
		t.Errorf("no 'stopped' in the log:\n%s", stderr.String())
	}
}
