package deploy

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/directory/sqlstore/pgtest"
	"keystage.dev/keystage/ldapserver/ldaptest"
)

// refusalBound is how soon a change made on one node must be refused on
// another: the bound the README, "Several nodes on one PostgreSQL" states. The PostgreSQL
// notification normally brings it in well under a second; without it the
// RADIUS server reads the audit trail every 2 s, and LDAP caches nothing
// between binds. The extra second is for a busy machine.
const refusalBound = 3 * time.Second

// freeUDP finds a loopback UDP port nobody listens on.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// node is one keystage serve process's configuration.
type node struct {
	conf, radius, ldap, health string
}

const baseDN = "dc=trust,dc=example"

// writeNode writes a node's configuration. Every node of a trust shares the
// key file and, beside it, the audit signing key: one of each per trust.
func writeNode(t *testing.T, dbURL, keyFile string) node {
	t.Helper()
	dir := t.TempDir()
	n := node{conf: filepath.Join(dir, "keystage.toml"), radius: freeUDP(t), ldap: freePort(t), health: freePort(t)}
	conf := fmt.Sprintf(`data_dir = %q
[database]
url = %q
[secrets]
key_file = %q
[audit]
signing_key_file = %q
[radius]
enabled = true
auth_address = %q
acct_address = %q
[radius.eap]
methods = []
[ldap]
enabled = true
listen = %q
ldaps = ""
base_dn = %q
[metrics]
listen = %q
`, dir, dbURL, keyFile, filepath.Join(filepath.Dir(keyFile), "audit-signing.key"), n.radius, freeUDP(t), n.ldap, baseDN, n.health)
	if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// keystage runs one command to completion.
func keystage(t *testing.T, bin, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("keystage %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// serve starts keystage serve and waits until it answers /healthz. It
// returns the node's log so far, for a test that reads it.
func serve(t *testing.T, bin string, n node) (log func() string) {
	t.Helper()
	cmd := exec.Command(bin, "--config", n.conf, "serve")
	var buf lockedBuffer
	cmd.Stderr = &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("log of the node on %s:\n%s", n.radius, buf.String())
		}
	})
	waitHealthy(t, n.health, buf.String)
	return buf.String
}

// lockedBuffer is a node's log, written by the process's copier and read
// by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// radiusAccepts asks a node for PAP with radtest.
func radiusAccepts(t *testing.T, n node, user, pass, secret string) bool {
	t.Helper()
	out, _ := exec.Command("radtest", "-t", "pap", user, pass, n.radius, "0", secret).CombinedOutput()
	// On a reject radtest also says "Expected Access-Accept got
	// Access-Reject": match what was received.
	switch {
	case strings.Contains(string(out), "Received Access-Accept"):
		return true
	case strings.Contains(string(out), "Received Access-Reject"):
		return false
	}
	t.Fatalf("radtest: no answer:\n%s", out)
	return false
}

// ldapAccepts binds to a node with ldapwhoami.
func ldapAccepts(t *testing.T, n node, user, pass string) bool {
	t.Helper()
	out, err := exec.Command("ldapwhoami", "-x", "-H", "ldap://"+n.ldap, "-D", "uid="+user+",ou=people,"+baseDN, "-w", pass).CombinedOutput()
	switch {
	case err == nil && strings.Contains(string(out), "dn:uid="+user):
		return true
	case strings.Contains(string(out), "Invalid credentials (49)"):
		return false
	}
	t.Fatalf("ldapwhoami: %v\n%s", err, out)
	return false
}

// refusedWithin polls until check says no, and fails once the bound has
// passed without a refusal. It returns how long the refusal took, for the
// log; only the bound is asserted.
func refusedWithin(t *testing.T, what string, since time.Time, check func() bool) time.Duration {
	t.Helper()
	for check() {
		if time.Since(since) > refusalBound {
			t.Fatalf("%s: node B still accepts after %s; the stated bound is %s", what, time.Since(since).Round(time.Millisecond), refusalBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(since)
}

// noticeWithin waits for a held connection's Notice of Disconnection and
// fails once the bound has passed without one. It returns how long it
// took, for the log; only the bound is asserted.
func noticeWithin(t *testing.T, what string, since time.Time, held *ldaptest.Held) time.Duration {
	t.Helper()
	n, err := held.AwaitNotice(time.Until(since.Add(refusalBound)))
	if err != nil {
		t.Fatalf("%s: no notice of disconnection within the stated bound %s: %v", what, refusalBound, err)
	}
	if n.Code != int(ldap.LDAPResultStrongAuthRequired) {
		t.Errorf("%s: notice %+v, want strongerAuthRequired", what, n)
	}
	return time.Since(since)
}

func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed: CI must install %s", name, pkg)
		}
		t.Skipf("%s is not installed (apt install %s)", name, pkg)
	}
	return path
}

// Two keystage serve processes on one PostgreSQL stand for a trust's two
// nodes. A leaver disabled and a person suspended with the CLI against
// node A's configuration are
// refused by node B over RADIUS and over LDAP within refusalBound; and an
// application's LDAP connection to node B, bound as a service account that
// node A then disables, is closed with a notice of disconnection within the
// same bound.
func TestChangesReachTheOtherNode(t *testing.T) {
	needTool(t, "radtest", "freeradius-utils")
	needTool(t, "ldapwhoami", "ldap-utils")
	bin := build(t)
	dbURL := pgtest.URL(t)
	keyFile := filepath.Join(t.TempDir(), "shared.keys")
	a := writeNode(t, dbURL, keyFile)
	b := writeNode(t, dbURL, keyFile)

	const secret = "two-node-shared-secret"
	const password = "Kestrel-Harbour-47"
	keystage(t, bin, secret+"\n", "--config", a.conf, "nas", "add", "loopback", "--address", "127.0.0.0/8")
	creds := map[string]string{}
	for _, user := range []string{"jleaver", "ssuspended"} {
		keystage(t, bin, password+"\n", "--config", a.conf, "account", "add", "--username", user, "--role", "staff",
			"--given", "Jo", "--family", "Leaver", "--password-stdin")
		issued := keystage(t, bin, "", "--config", a.conf, "wifi", "issue", user)
		for _, f := range strings.Fields(issued) {
			if strings.Count(f, "-") == 2 && len(f) == 17 {
				creds[user] = f
			}
		}
		if creds[user] == "" {
			t.Fatalf("no credential in %q", issued)
		}
	}

	// An application's service account, whose connection stays bound.
	const svcPassword = "Heron-Quartz-Ledger-38"
	keystage(t, bin, svcPassword+"\n", "--config", a.conf, "account", "add", "--username", "svc-moodle", "--role", "service", "--password-stdin")

	serve(t, bin, a)
	serve(t, bin, b)
	app, err := ldaptest.BindHeld(b.ldap, "uid=svc-moodle,ou=services,"+baseDN, svcPassword)
	if err != nil {
		t.Fatalf("service bind on node B: %v", err)
	}
	defer app.Close()
	for user, cred := range creds {
		// Twice on node B, so that its RADIUS cache holds the facts.
		for range 2 {
			if !radiusAccepts(t, b, user, cred, secret) || !ldapAccepts(t, b, user, password) {
				t.Fatalf("node B refused %s while in good standing", user)
			}
		}
	}

	keystage(t, bin, "", "--config", a.conf, "account", "disable", "jleaver", "--reason", "left mid-term")
	disabled := time.Now()
	took := refusedWithin(t, "RADIUS, disabled leaver", disabled, func() bool { return radiusAccepts(t, b, "jleaver", creds["jleaver"], secret) })
	t.Logf("node B's RADIUS refused the disabled leaver %s after the CLI returned", took.Round(time.Millisecond))
	took = refusedWithin(t, "LDAP, disabled leaver", disabled, func() bool { return ldapAccepts(t, b, "jleaver", password) })
	t.Logf("node B's LDAP refused the disabled leaver %s after the CLI returned", took.Round(time.Millisecond))

	keystage(t, bin, "", "--config", a.conf, "suspend", "ssuspended", "--for", "1d", "--reason", "two-node test")
	suspended := time.Now()
	took = refusedWithin(t, "RADIUS, suspension", suspended, func() bool { return radiusAccepts(t, b, "ssuspended", creds["ssuspended"], secret) })
	t.Logf("node B's RADIUS refused the suspended person %s after the CLI returned", took.Round(time.Millisecond))
	took = refusedWithin(t, "LDAP, suspension", suspended, func() bool { return ldapAccepts(t, b, "ssuspended", password) })
	t.Logf("node B's LDAP refused the suspended person %s after the CLI returned", took.Round(time.Millisecond))

	// The application's connection to node B, bound before the service
	// account was disabled on node A, is ended with a notice.
	keystage(t, bin, "", "--config", a.conf, "account", "disable", "svc-moodle", "--reason", "decommissioned")
	took = noticeWithin(t, "LDAP, bound connection of a disabled account", time.Now(), app)
	t.Logf("node B closed the disabled service account's connection %s after the CLI returned", took.Round(time.Millisecond))

	if radiusAccepts(t, a, "jleaver", creds["jleaver"], secret) || radiusAccepts(t, a, "ssuspended", creds["ssuspended"], secret) {
		t.Error("node A still accepts")
	}
}
