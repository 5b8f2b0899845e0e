package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"keystage.dev/keystage/ldapserver/ldaptest"
	"keystage.dev/keystage/lifecycle/exportgen"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

// writeSQLiteNode writes the configuration of a keystage serve on the
// SQLite store in dataDir, with RADIUS (PAP) and plain LDAP on free ports.
func writeSQLiteNode(t *testing.T, dataDir string) node {
	t.Helper()
	n := node{conf: filepath.Join(t.TempDir(), "keystage.toml"), radius: freeUDP(t), ldap: freePort(t), health: freePort(t)}
	conf := fmt.Sprintf(`data_dir = %q
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
[portal]
enabled = false
[metrics]
listen = %q
`, dataDir, n.radius, freeUDP(t), n.ldap, baseDN, n.health)
	if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// wifiCredential finds the credential wifi issue prints.
func wifiCredential(t *testing.T, issued string) string {
	t.Helper()
	for _, f := range strings.Fields(issued) {
		if strings.Count(f, "-") == 2 && len(f) == 17 {
			return f
		}
	}
	t.Fatalf("no credential in %q", issued)
	return ""
}

// acceptedWithin polls until check says yes, failing once the bound has
// passed; it returns how long it took, for the log.
func acceptedWithin(t *testing.T, what string, since time.Time, check func() bool) time.Duration {
	t.Helper()
	for !check() {
		if time.Since(since) > refusalBound {
			t.Fatalf("%s: still refused after %s; the stated bound is %s", what, time.Since(since).Round(time.Millisecond), refusalBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(since)
}

// Every command that changes the directory runs beside keystage serve on
// SQLite, as a cron job would, and the running server acts on it within
// the bound stated for several nodes: a person suspended from the command
// line is refused by RADIUS and LDAP (and their held LDAP connection is
// closed with a notice), then accepted again once unsuspended; a NAS added
// is answered, and one removed is not, without a restart; accounts added
// and disabled, AUP forms and a consent recorded, Wi-Fi issued and revoked,
// MIS syncs and the leavers job applied all take effect; after keys rotate the server still opens the Wi-Fi
// credentials, now sealed under a key it did not start with; commands run
// at once all succeed; and the audit trail, written by the server and the
// commands in turn, verifies.
func TestCommandsBesideServerOnSQLite(t *testing.T) {
	needTool(t, "radtest", "freeradius-utils")
	needTool(t, "radclient", "freeradius-utils")
	needTool(t, "ldapwhoami", "ldap-utils")
	bin := build(t)
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	// The demo school's MIS export, and the next one (movers, leavers,
	// starters), as keystage demo writes them.
	day := time.Now().UTC().Truncate(24 * time.Hour)
	people := schoolgen.People(schoolgen.Demo())
	first, next := filepath.Join(data, "mis-first"), filepath.Join(data, "mis-next")
	if err := exportgen.WriteOneRoster(first, people, exportgen.Options{Modified: day.Add(-48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ch := exportgen.Mutate(people, exportgen.Mutation{Seed: 7, Movers: 0.01, Leavers: 0.01, Starters: 0.015,
		LeaveDate: day.AddDate(0, 0, -1), StartDate: day.AddDate(0, 0, 7)})
	if err := exportgen.WriteOneRoster(next, ch.After, ch.Options(day.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	n := writeSQLiteNode(t, data)
	ks := func(stdin string, args ...string) string {
		t.Helper()
		return keystage(t, bin, stdin, append([]string{"--config", n.conf}, args...)...)
	}
	serve(t, bin, n)

	// An access point added beside the server is answered without a
	// restart.
	const secret = "beside-the-server-secret"
	ks(secret+"\n", "nas", "add", "loopback", "--address", "127.0.0.0/8")
	added := time.Now()
	for {
		if answered, _ := radiusAnswer(t, n, "nobody", "x", secret); answered {
			break
		}
		if time.Since(added) > nasPickupBound {
			t.Fatal("the server does not answer a NAS added beside it")
		}
	}
	t.Logf("the server answered the NAS added beside it %s after nas add returned", time.Since(added).Round(time.Millisecond))

	// The school arrives from the MIS, and a staff AUP is published.
	ks("", "sync", "--from", "oneroster:"+first, "--apply")
	policy := filepath.Join(data, "aup.md")
	if err := os.WriteFile(policy, []byte("# Staff AUP\n\nUse the network for school work.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ks("", "aup", "publish", "--audience", "staff", "--version", "2026-09", "--file", policy)

	// People added, their forms recorded and Wi-Fi issued beside it.
	const password = "Kestrel-Harbour-47"
	creds := map[string]string{}
	for _, user := range []string{"ssuspended", "jleaver"} {
		ks(password+"\n", "account", "add", "--username", user, "--role", "staff", "--given", "Jo", "--family", "Beside", "--password-stdin")
		ks("", "aup", "record", user, "--form-date", time.Now().Format("2006-01-02"), "--witness", "Office")
		creds[user] = wifiCredential(t, ks("", "wifi", "issue", user))
	}
	// The server answers from memory what it has heard of: a change made
	// beside it is heard within sqlstore.SQLitePollInterval, so the first
	// answers are awaited rather than expected at once.
	for user, cred := range creds {
		added := time.Now()
		acceptedWithin(t, "RADIUS, added beside the server", added, func() bool { return radiusAccepts(t, n, user, cred, secret) })
		acceptedWithin(t, "LDAP, added beside the server", added, func() bool { return ldapAccepts(t, n, user, password) })
	}
	held, err := ldaptest.BindHeld(n.ldap, "uid=ssuspended,ou=people,"+baseDN, password)
	if err != nil {
		t.Fatalf("held bind: %v", err)
	}
	defer held.Close()

	// The cron job's suspension.
	ks("", "suspend", "ssuspended", "--for", "1d", "--reason", "beside the server")
	suspended := time.Now()
	took := refusedWithin(t, "RADIUS, suspension beside the server", suspended, func() bool {
		return radiusAccepts(t, n, "ssuspended", creds["ssuspended"], secret)
	})
	t.Logf("RADIUS refused the person suspended beside the server %s after keystage suspend returned", took.Round(time.Millisecond))
	took = refusedWithin(t, "LDAP, suspension beside the server", suspended, func() bool { return ldapAccepts(t, n, "ssuspended", password) })
	t.Logf("LDAP refused the person suspended beside the server %s after keystage suspend returned", took.Round(time.Millisecond))
	took = noticeWithin(t, "LDAP, held connection of a person suspended beside the server", suspended, held)
	t.Logf("LDAP closed the suspended person's held connection %s after keystage suspend returned", took.Round(time.Millisecond))

	ks("", "unsuspend", "ssuspended")
	lifted := time.Now()
	took = acceptedWithin(t, "RADIUS, unsuspended", lifted, func() bool { return radiusAccepts(t, n, "ssuspended", creds["ssuspended"], secret) })
	t.Logf("RADIUS accepted the unsuspended person %s after keystage unsuspend returned", took.Round(time.Millisecond))
	acceptedWithin(t, "LDAP, unsuspended", lifted, func() bool { return ldapAccepts(t, n, "ssuspended", password) })

	ks("", "account", "disable", "jleaver", "--reason", "left mid-term")
	refusedWithin(t, "RADIUS, disabled beside the server", time.Now(), func() bool { return radiusAccepts(t, n, "jleaver", creds["jleaver"], secret) })

	// Wi-Fi revoked beside it: the old credential is refused.
	old := creds["ssuspended"]
	ks("", "wifi", "revoke", "ssuspended")
	refusedWithin(t, "RADIUS, credential revoked beside the server", time.Now(), func() bool { return radiusAccepts(t, n, "ssuspended", old, secret) })
	creds["ssuspended"] = wifiCredential(t, ks("", "wifi", "issue", "ssuspended"))

	// The next MIS sync and the leavers job, and a parent's consent.
	ks("", "sync", "--from", "oneroster:"+next, "--apply")
	ks("", "leavers", "--apply")
	list := strings.Split(strings.TrimSpace(ks("", "account", "list", "--role", "pupil", "--limit", "1")), "\n")
	if len(list) < 2 {
		t.Fatalf("no pupil listed: %q", list)
	}
	pupil := strings.Fields(list[1])[0]
	ks("", "consent", "record", pupil, "--parent", "A Parent", "--relationship", "mother")

	// keys rotate beside the server: every secret is re-sealed under a
	// key the server did not start with, and it still opens them.
	ks("", "keys", "rotate")
	if !radiusAccepts(t, n, "ssuspended", creds["ssuspended"], secret) {
		t.Fatal("after keys rotate beside the server, RADIUS refuses a Wi-Fi credential re-sealed under the new key")
	}
	// A credential issued after the rotation (sealed under the new key,
	// never cached by the server) is accepted too.
	ks("", "wifi", "revoke", "ssuspended")
	creds["ssuspended"] = wifiCredential(t, ks("", "wifi", "issue", "ssuspended"))
	acceptedWithin(t, "RADIUS, credential sealed under the rotated key", time.Now(), func() bool {
		return radiusAccepts(t, n, "ssuspended", creds["ssuspended"], secret)
	})

	// Several commands at once, as cron jobs started together run: SQLite
	// takes their transactions one at a time, none fails for it, and the
	// audit chain (verified below) stays whole.
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("cron%d", i)
			for _, args := range [][]string{{"account", "add", "--username", user, "--role", "staff"}, {"wifi", "issue", user},
				{"suspend", user, "--for", "1d", "--reason", "cron"}} {
				out, err := exec.Command(bin, append([]string{"--config", n.conf}, args...)...).CombinedOutput()
				if err != nil {
					errs <- fmt.Sprintf("keystage %s, run at once with others: %v\n%s", strings.Join(args, " "), err, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	// An access point removed beside the server is no longer answered.
	ks("", "nas", "remove", "loopback")
	removed := time.Now()
	for {
		if answered, _ := radiusAnswer(t, n, "nobody", "x", secret); !answered {
			break
		}
		if time.Since(removed) > nasPickupBound {
			t.Fatal("the server still answers a NAS removed beside it")
		}
	}

	// The trail, written by the server and the commands in turn, is whole;
	// a checkpoint signed beside the server vouches for it.
	ks("", "audit", "checkpoint")
	if out, err := exec.Command(bin, "--config", n.conf, "audit", "verify").CombinedOutput(); err != nil {
		t.Fatalf("audit verify after commands beside the server: %v\n%s", err, out)
	}
}
