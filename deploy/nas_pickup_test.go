package deploy

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory/sqlstore/pgtest"
)

// nasPickupBound is how soon a NAS added with the CLI against node A must
// be answered by node B: well under the 30 s client refresh, so that only
// the notification through PostgreSQL meets it.
const nasPickupBound = 10 * time.Second

// radiusAnswer sends one PAP request with radclient, waiting at most half
// a second: a NAS a node does not know is dropped without a reply.
func radiusAnswer(t *testing.T, n node, user, pass, secret string) (answered, accepted bool) {
	t.Helper()
	cmd := exec.Command("radclient", "-r", "1", "-t", "0.5", n.radius, "auth", secret)
	cmd.Stdin = strings.NewReader("User-Name = \"" + user + "\"\nUser-Password = \"" + pass + "\"\nMessage-Authenticator = 0x00\n")
	out, _ := cmd.CombinedOutput()
	switch {
	case strings.Contains(string(out), "Access-Accept"):
		return true, true
	case strings.Contains(string(out), "Access-Reject"):
		return true, false
	}
	return false, false
}

// `keystage nas add` against node A's configuration, while two nodes
// serve: both answer the new access point without a restart, through
// PostgreSQL's notification rather than the 30 s refresh. The time it took
// is logged: that is the figure the CLI and the README state.
func TestNASAddAnsweredByEveryNode(t *testing.T) {
	needTool(t, "radclient", "freeradius-utils")
	bin := build(t)
	dbURL := pgtest.URL(t)
	keyFile := filepath.Join(t.TempDir(), "shared.keys")
	a := writeNode(t, dbURL, keyFile)
	b := writeNode(t, dbURL, keyFile)
	const secret = "two-node-shared-secret"
	keystage(t, bin, secret+"\n", "--config", a.conf, "nas", "add", "controller", "--address", "10.9.0.0/16")
	keystage(t, bin, "Kestrel-Harbour-47\n", "--config", a.conf, "account", "add", "--username", "jteacher", "--role", "staff", "--password-stdin")
	issued := keystage(t, bin, "", "--config", a.conf, "wifi", "issue", "jteacher")
	var cred string
	for _, f := range strings.Fields(issued) {
		if strings.Count(f, "-") == 2 && len(f) == 17 {
			cred = f
		}
	}
	if cred == "" {
		t.Fatalf("no credential in %q", issued)
	}
	serve(t, bin, a)
	serve(t, bin, b)
	for _, n := range []node{a, b} {
		if answered, _ := radiusAnswer(t, n, "jteacher", cred, secret); answered {
			t.Fatal("a node answered an access point it was not told of")
		}
	}
	out := keystage(t, bin, secret+"\n", "--config", a.conf, "nas", "add", "loopback", "--address", "127.0.0.0/8")
	added := time.Now()
	if !strings.Contains(out, "every running node answers it") {
		t.Errorf("nas add says: %s", out)
	}
	for _, n := range []node{b, a} {
		for {
			answered, accepted := radiusAnswer(t, n, "jteacher", cred, secret)
			if answered && !accepted {
				t.Fatal("the new access point's request was refused")
			}
			if answered {
				break
			}
			if time.Since(added) > nasPickupBound {
				t.Fatalf("node on %s does not answer the new access point %s after nas add", n.radius, time.Since(added).Round(time.Millisecond))
			}
		}
		t.Logf("node on %s answered the new access point %s after nas add returned", n.radius, time.Since(added).Round(time.Millisecond))
	}
}
