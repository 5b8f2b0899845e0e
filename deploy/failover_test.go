package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	layeh "layeh.com/radius"

	"keystage.dev/keystage/directory/sqlstore/pgtest"
	"keystage.dev/keystage/ldapserver/ldaptest"
	"keystage.dev/keystage/radius/radiustest"
)

// outage is how long the test keeps PostgreSQL away: far longer than the
// listener's one retry of old, and than its back-off of a second.
const outage = 10 * time.Second

// scrapes follows both nodes' /metrics for the whole test: every scrape
// must answer 200, and it notes when node B's listener is heard again.
type scrapes struct {
	mu       sync.Mutex
	total    int
	failures []string
	// listenerBack is when node B's /metrics first said its listener was
	// up again after the cut; dbDown when it first said the database was
	// away.
	cutAt, listenerBack, dbDown time.Time
}

func (s *scrapes) run(ctx context.Context, nodes ...node) {
	for ctx.Err() == nil {
		for i, n := range nodes {
			resp, err := http.Get("http://" + n.health + "/metrics")
			var body []byte
			if err == nil {
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			s.mu.Lock()
			s.total++
			switch {
			case err != nil:
				s.failures = append(s.failures, err.Error())
			case resp.StatusCode != http.StatusOK:
				s.failures = append(s.failures, resp.Status+": "+firstLine(string(body)))
			case i == 1 && !s.cutAt.IsZero():
				if s.dbDown.IsZero() && strings.Contains(string(body), "\nkeystage_database_up 0") {
					s.dbDown = time.Now()
				}
				if !s.dbDown.IsZero() && s.listenerBack.IsZero() && strings.Contains(string(body), "\nkeystage_database_listener_up 1") {
					s.listenerBack = time.Now()
				}
			}
			s.mu.Unlock()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Two nodes on one PostgreSQL under RADIUS and LDAP load lose the database
// for ten seconds. Once it is back a person is suspended through node A:
// node B refuses them over RADIUS and closes their held LDAP connection
// with a notice of disconnection within refusalBound, which needs node B
// to have listened again and re-read what changed. /metrics answers on both
// nodes throughout, and each node says once that the database went and
// once that it came back.
func TestNodesSurviveADatabaseOutage(t *testing.T) {
	bin := build(t)
	proxy := pgtest.NewProxy(t, pgtest.URL(t))
	keyFile := filepath.Join(t.TempDir(), "shared.keys")
	a := writeNode(t, proxy.URL(), keyFile)
	b := writeNode(t, proxy.URL(), keyFile)

	const secret = "two-node-shared-secret"
	const password = "Kestrel-Harbour-47"
	keystage(t, bin, secret+"\n", "--config", a.conf, "nas", "add", "loopback", "--address", "127.0.0.0/8")
	creds := map[string]string{}
	for _, user := range []string{"ssuspended", "psteady"} {
		keystage(t, bin, password+"\n", "--config", a.conf, "account", "add", "--username", user, "--role", "staff",
			"--given", "Sam", "--family", "Steady", "--password-stdin")
		for _, f := range strings.Fields(keystage(t, bin, "", "--config", a.conf, "wifi", "issue", user)) {
			if strings.Count(f, "-") == 2 && len(f) == 17 {
				creds[user] = f
			}
		}
		if creds[user] == "" {
			t.Fatalf("no Wi-Fi credential issued to %s", user)
		}
	}
	logA := serve(t, bin, a)
	logB := serve(t, bin, b)

	pap := func(n node, user string) (layeh.Code, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return radiustest.PAP(ctx, n.radius, secret, user, creds[user])
	}
	for range 2 { // twice, so that node B's RADIUS cache holds the facts
		if code, err := pap(b, "ssuspended"); err != nil || code != layeh.CodeAccessAccept {
			t.Fatalf("node B before the outage: %v %v, want Access-Accept", code, err)
		}
	}
	// The person's own LDAP connection to node B, held as an
	// application holds it.
	held, err := ldaptest.BindHeld(b.ldap, "uid=ssuspended,ou=people,"+baseDN, password)
	if err != nil {
		t.Fatalf("bind on node B: %v", err)
	}
	defer held.Close()

	// Load on both nodes for the whole test: Wi-Fi sign-ins and LDAP
	// binds of someone else, one after another per node and protocol.
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var accepted, binds atomic.Int64
	for _, n := range []node{a, b} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if code, err := pap(n, "psteady"); err == nil && code == layeh.CodeAccessAccept {
					accepted.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if l, err := ldap.DialURL("ldap://" + n.ldap); err == nil {
					if l.Bind("uid=psteady,ou=people,"+baseDN, password) == nil {
						binds.Add(1)
					}
					l.Close()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	sc := &scrapes{}
	wg.Add(1)
	go func() { defer wg.Done(); sc.run(ctx, a, b) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopLoad()
			wg.Wait()
		}
	}
	defer stop()

	time.Sleep(time.Second)
	sc.mu.Lock()
	sc.cutAt = time.Now()
	sc.mu.Unlock()
	proxy.Cut()
	before := accepted.Load()
	time.Sleep(outage)
	proxy.Mend()
	mended := time.Now()

	keystage(t, bin, "", "--config", a.conf, "suspend", "ssuspended", "--for", "1d", "--reason", "failover test")
	suspended := time.Now()
	t.Logf("the suspension through node A returned %s after the database came back", suspended.Sub(mended).Round(time.Millisecond))
	// The held connection and RADIUS are watched at once, each timed from
	// the CLI's return.
	type notice struct {
		took time.Duration
		err  error
	}
	noticed := make(chan notice, 1)
	go func() {
		n, err := held.AwaitNotice(time.Until(suspended.Add(refusalBound)))
		if err == nil && n.Code != int(ldap.LDAPResultStrongAuthRequired) {
			err = fmt.Errorf("notice %+v, want strongerAuthRequired", n)
		}
		noticed <- notice{time.Since(suspended), err}
	}()
	took := refusedWithin(t, "RADIUS, person suspended after the outage", suspended, func() bool {
		code, err := pap(b, "ssuspended")
		return err != nil || code == layeh.CodeAccessAccept // no answer yet is not a refusal
	})
	t.Logf("node B's RADIUS refused the suspended person %s after the CLI returned", took.Round(time.Millisecond))
	n := <-noticed
	if n.err != nil {
		t.Fatalf("node B's LDAP: the suspended person's held connection got no notice of disconnection within the stated bound %s: %v", refusalBound, n.err)
	}
	t.Logf("node B closed the suspended person's held LDAP connection with a notice %s after the CLI returned", n.took.Round(time.Millisecond))

	// Both nodes serve the others again.
	deadline := time.Now().Add(30 * time.Second)
	for accepted.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("no Wi-Fi sign-in accepted since the database came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("first Wi-Fi sign-in accepted again %s after the database came back", time.Since(mended).Round(time.Millisecond))
	for time.Now().Before(deadline) {
		sc.mu.Lock()
		back := sc.listenerBack
		sc.mu.Unlock()
		if !back.IsZero() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()

	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.failures) > 0 {
		t.Errorf("%d of %d /metrics scrapes failed; the first: %s", len(sc.failures), sc.total, sc.failures[0])
	}
	if sc.dbDown.IsZero() {
		t.Error("node B's /metrics never said keystage_database_up 0 during the outage")
	} else {
		t.Logf("node B's /metrics said the database was away %s after the cut", sc.dbDown.Sub(sc.cutAt).Round(time.Millisecond))
	}
	if sc.listenerBack.IsZero() {
		t.Error("node B's /metrics never said its listener was up again")
	} else {
		t.Logf("node B's listener was up again within %s of the database's return (scraped every 100 ms)", sc.listenerBack.Sub(mended).Round(time.Millisecond))
	}
	t.Logf("%d scrapes, %d Wi-Fi sign-ins and %d LDAP binds accepted in all", sc.total, accepted.Load(), binds.Load())

	// Each node pings the database every second: the line saying it is
	// back may come a moment after the rest. The deadline only bounds a
	// broken test.
	for name, log := range map[string]func() string{"A": logA, "B": logB} {
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(log(), `msg="database reachable again`) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("node %s: %s", name, firstLine(log()[strings.Index(log(), `msg="database reachable again`):]))
		text := log()
		for _, line := range []string{`msg="database unreachable`, `msg="database reachable again`,
			`msg="database change notifications lost`, `msg="database change notifications heard again`,
			`msg="radius: cannot read the audit trail`} {
			if n := strings.Count(text, line); n != 1 {
				t.Errorf("node %s's log has %d lines %s…, want 1", name, n, line)
			}
		}
	}
}
