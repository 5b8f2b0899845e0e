package ldapserver_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"keystage.dev/keystage/ldapserver/ldaptest"
)

// TestNslcdGetent resolves people and groups through nslcd and glibc's
// NSS, the way a Linux desktop logs a pupil in. nslcd reads only
// /etc/nslcd.conf, so the test writes it (after taking a lock, and puts
// the original back), runs nslcd in the foreground, and asks getent with
// "-s ldap" so that /etc/nsswitch.conf is left alone.
func TestNslcdGetent(t *testing.T) {
	nslcd := need(t, "nslcd")
	getent := need(t, "getent")
	if _, err := os.Stat("/lib/x86_64-linux-gnu/libnss_ldap.so.2"); err != nil {
		if _, err2 := os.Stat("/usr/lib/x86_64-linux-gnu/libnss_ldap.so.2"); err2 != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("libnss-ldapd is not installed in CI")
			}
			t.Skip("libnss-ldapd not installed")
		}
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the nslcd test needs root in CI: it writes /etc/nslcd.conf and runs nslcd")
		}
		t.Skip("the nslcd test needs root (it writes /etc/nslcd.conf and runs nslcd)")
	}
	srv := ldaptest.Start(t, ldaptest.Options{People: 120})

	// One nslcd at a time on this machine.
	lock, err := os.OpenFile("/run/lock/keystage-nslcd-test.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Flock(int(lock.Fd()), syscall.LOCK_UN); lock.Close() })

	// nslcd drops to its own user before it connects, so the CA file must
	// be readable by it: the test's temp directory is not.
	ca, err := os.CreateTemp("", "keystage-nslcd-ca-*.pem")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(ca.Name()) })
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	ca.Write(pem)
	ca.Close()
	os.Chmod(ca.Name(), 0o644)

	const confPath = "/etc/nslcd.conf"
	orig, origErr := os.ReadFile(confPath)
	st, statErr := os.Stat(confPath)
	t.Cleanup(func() {
		if origErr != nil {
			os.Remove(confPath)
			return
		}
		if err := os.WriteFile(confPath, orig, 0o640); err != nil {
			t.Errorf("restoring %s: %v", confPath, err)
		}
		if statErr == nil {
			os.Chmod(confPath, st.Mode().Perm())
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				os.Chown(confPath, int(sys.Uid), int(sys.Gid))
			}
		}
	})
	conf := fmt.Sprintf(`# written by keystage's TestNslcdGetent; restored when it ends
uid nslcd
gid nslcd
uri ldap://%s/
base %s
binddn uid=%s,ou=services,%s
bindpw %s
ssl start_tls
tls_reqcert demand
tls_cacertfile %s
pagesize 50
reconnect_retrytime 1
`, srv.Addr, base, ldaptest.Service, base, ldaptest.ServicePassword, ca.Name())
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// nslcd makes its socket after dropping to its own user.
	u, err := user.Lookup("nslcd")
	if err != nil {
		t.Fatalf("user nslcd (made by the nslcd package): %v", err)
	}
	if err := os.MkdirAll("/run/nslcd", 0o755); err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown("/run/nslcd", uid, gid); err != nil {
		t.Fatal(err)
	}
	socket := "/run/nslcd/socket"
	os.Remove(socket)

	cmd := exec.Command(nslcd, "-d")
	logf, err := os.Create(filepath.Join(t.TempDir(), "nslcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("nslcd log:\n%s", b)
		}
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if i == 100 {
			t.Fatal("nslcd did not open its socket")
		}
		time.Sleep(50 * time.Millisecond)
	}

	get := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(getent, append([]string{"-s", "ldap"}, args...)...).Output()
		if err != nil {
			t.Fatalf("getent -s ldap %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	pw := get("passwd", ldaptest.Teacher)
	f := strings.Split(pw, ":")
	if len(f) != 7 || f[0] != ldaptest.Teacher || f[4] != "Jane Teacher" || f[5] != "/home/"+ldaptest.Teacher || f[6] != "/bin/bash" {
		t.Errorf("getent passwd %s = %q", ldaptest.Teacher, pw)
	}
	if byUID := get("passwd", f[2]); byUID != pw {
		t.Errorf("getent passwd %s = %q, want %q", f[2], byUID, pw)
	}
	gr := get("group", "7a")
	g := strings.Split(gr, ":")
	if len(g) != 4 || g[0] != "7a" || !slices.Contains(strings.Split(g[3], ","), ldaptest.Pupil) {
		t.Errorf("getent group 7a = %q", gr)
	}
	if byGID := get("group", g[2]); byGID != gr {
		t.Errorf("getent group %s = %q, want %q", g[2], byGID, gr)
	}
	if ig := get("initgroups", ldaptest.Pupil); len(strings.Fields(ig)) != 1+3 {
		t.Errorf("getent initgroups %s = %q, want 3 groups", ldaptest.Pupil, ig)
	}
	// Enumeration goes through paged results, 50 at a time.
	if all := strings.Split(get("passwd"), "\n"); len(all) != 120+5 {
		t.Errorf("getent passwd enumerated %d people, want %d", len(all), 120+5)
	}
	// id through nss_ldap, as a login would see it: the primary group is
	// the person's own (gid = uid, named after them), never another group.
	// nsswitch.conf is swapped in a private mount namespace, so that
	// nothing else on the machine resolves through this test's nslcd.
	if unshare, err := exec.LookPath("unshare"); err != nil {
		t.Errorf("unshare (util-linux) is needed to run id through nslcd: %v", err)
	} else {
		ns := filepath.Join(t.TempDir(), "nsswitch.conf")
		if err := os.WriteFile(ns, []byte("passwd: files ldap\ngroup: files ldap\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{ldaptest.Pupil, ldaptest.Teacher} {
			out, err := exec.Command(unshare, "-m", "sh", "-c", `mount --bind "$1" /etc/nsswitch.conf && exec id "$2"`, "sh", ns, who).CombinedOutput()
			if err != nil {
				t.Fatalf("id %s through nslcd: %v: %s", who, err, out)
			}
			uid := strings.Split(get("passwd", who), ":")[2]
			t.Logf("id %s: %s", who, strings.TrimSpace(string(out)))
			if want := fmt.Sprintf("uid=%s(%s) gid=%s(%s) ", uid, who, uid, who); !strings.HasPrefix(string(out), want) {
				t.Errorf("id %s = %q, want it to begin %q", who, out, want)
			}
		}
	}
	// A leaver is still resolvable (files keep their owner) but expired.
	if sh := strings.Split(get("shadow", ldaptest.Leaver), ":"); len(sh) != 9 || sh[7] != "1" {
		t.Errorf("getent shadow %s = %q, want shadowExpire 1", ldaptest.Leaver, sh)
	}
}
