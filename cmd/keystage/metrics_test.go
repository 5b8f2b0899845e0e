package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/radius/radiustest"
	"keystage.dev/keystage/server"
)

// scrape reads a metrics endpoint.
func scrape(t *testing.T, addr string) string {
	t.Helper()
	code, body := httpGet(t, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	return body
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The demo school served whole, on free ports: real LDAP binds and
// searches, RADIUS requests, portal sign-ins and a lockout, then /metrics
// must count each.
func TestMetricsCountRealRequests(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, dataDir: dir, demoDir: dir}
	cfg, err := loadConfig("", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LDAP.demo(dir)
	cfg.RADIUS.demo(dir)
	cfg.Portal.demo(dir)
	cfg.LDAP.Listen, cfg.LDAP.LDAPS = "127.0.0.1:0", "127.0.0.1:0"
	cfg.RADIUS.AuthAddress, cfg.RADIUS.AcctAddress = freeUDPPort(t), freeUDPPort(t)
	cfg.Portal.Listen = "127.0.0.1:0"
	cfg.Metrics.Listen = "127.0.0.1:0"
	e.cfg = cfg
	s, err := e.openStore(false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := e.directoryWithKeys(s, true)
	if err != nil {
		t.Fatal(err)
	}
	fes, err := e.frontends(s, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := map[string]string{}
	done := make(chan error, len(fes))
	for _, f := range fes {
		if len(f.Addrs) > 0 { // the audit checkpointer listens on nothing
			addr[f.Name] = strings.TrimPrefix(f.Addrs[0], "ldap://")
		}
		go func() { done <- f.Serve(ctx) }()
	}
	defer func() {
		cancel()
		for range fes {
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	}()
	teacher, pupil := demoNames(ctx, s)

	// Portal: a wrong password and a right one (before the LDAP
	// failures below lock this address out).
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the demo's self-signed certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, pw := range []string{"wrong-password", demoPupilPassword} {
		resp, err := client.PostForm("https://"+addr["portal"]+"/signin", url.Values{"username": {pupil}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) // the whole answer: the handler has returned
		resp.Body.Close()
	}

	// LDAP: a good bind, a search, and wrong passwords up to the lockout.
	l, err := ldap.DialURL("ldap://" + addr["ldap"])
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dn := "uid=" + teacher + ",ou=people," + cfg.LDAP.BaseDN
	if err := l.Bind(dn, demoStaffPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Search(ldap.NewSearchRequest(cfg.LDAP.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(uid="+teacher+")", []string{"cn"}, nil)); err != nil {
		t.Fatal(err)
	}
	// Distinct wrong passwords from an address the teacher signed in from:
	// the last locks the account, and the right password is refused.
	for i := range cfg.Lockout.Threshold {
		if err := l.Bind(dn, fmt.Sprintf("wrong-password-%d", i)); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Fatalf("wrong bind: %v", err)
		}
	}
	if err := l.Bind(dn, demoStaffPassword); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("bind while locked: %v", err)
	}

	// RADIUS: the pupil's Wi-Fi credential, and a wrong one.
	pa, err := s.AccountByUsername(ctx, pupil)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := d.WiFiSecret(ctx, pa)
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]layeh.Code{cred: layeh.CodeAccessAccept, "not-the-credential": layeh.CodeAccessReject} {
		code, err := radiustest.PAP(ctx, cfg.RADIUS.AuthAddress, demoNASSecret, pupil, pw)
		if err != nil || code != want {
			t.Fatalf("RADIUS: %v %v, want %v", code, err, want)
		}
	}

	// EAP: a phone's first packet (EAP-Response/Identity) is answered with a
	// challenge (the PEAP or TTLS start) whose State is a cookie: nothing is
	// held for the phone until it answers.
	reply, err := radiustest.Exchange(ctx, cfg.RADIUS.AuthAddress, demoNASSecret, func(p *layeh.Packet) {
		rfc2865.UserName_SetString(p, "anonymous")
		p.Add(rfc2869.EAPMessage_Type, layeh.Attribute{2, 1, 0, 14, 1, 'a', 'n', 'o', 'n', 'y', 'm', 'o', 'u', 's'})
	})
	if err != nil || reply.Code != layeh.CodeAccessChallenge {
		t.Fatalf("EAP start: %v %v", reply, err)
	}

	// A job run, as the scheduler reports it, and a sync run in the store.
	d.ObserveJob("mis-sync", directory.ResultSkipped, 0)
	d.ObserveJob("mis-sync", directory.ResultOK, 3*time.Second)
	finished := time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSyncRun(ctx, &directory.SyncRun{Kind: "sync", Source: "csv:/x", StartedAt: finished.Add(-time.Minute), FinishedAt: finished, Applied: true}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "test", Action: "sync.run", Target: "sync"})
	}); err != nil {
		t.Fatal(err)
	}

	body := scrape(t, addr["metrics"])
	for _, want := range []string{
		`keystage_requests_total{frontend="ldap",op="bind",reason="",result="ok"} 1`,
		`keystage_requests_total{frontend="ldap",op="bind",reason="",result="bad_credentials"} 5`,
		`keystage_requests_total{frontend="ldap",op="bind",reason="locked-out",result="refused"} 1`,
		`keystage_requests_total{frontend="ldap",op="search",reason="",result="success"} 1`,
		`keystage_request_duration_seconds_count{frontend="ldap",op="bind"} 7`,
		`keystage_requests_total{frontend="wifi",op="pap",reason="",result="ok"} 1`,
		`keystage_requests_total{frontend="wifi",op="pap",reason="",result="bad_credentials"} 1`,
		`keystage_request_duration_seconds_bucket{frontend="wifi",op="pap",le="+Inf"} 2`,
		`keystage_requests_total{frontend="portal",op="signin",reason="",result="bad_credentials"} 1`,
		`keystage_requests_total{frontend="portal",op="signin",reason="",result="ok"} 1`,
		`keystage_lockouts_total{kind="account"} 1`,
		`keystage_job_runs_total{job="mis-sync",result="ok"} 1`,
		`keystage_job_runs_total{job="mis-sync",result="skipped"} 1`,
		`keystage_job_duration_seconds_count{job="mis-sync"} 1`,
		`keystage_sync_last_finished_timestamp_seconds{kind="sync"} ` + strconv.FormatFloat(float64(finished.Unix()), 'g', -1, 64),
		`keystage_radius_replies_total{code="access-accept"} 1`,
		`keystage_requests_total{frontend="wifi",op="eap",reason="",result="challenge"} 1`,
		`keystage_eap_conversations 0`,
		`keystage_audit_chain_length`,
		`go_sql_open_connections`, `go_sql_in_use_connections`, `go_sql_idle_connections`,
		`go_sql_wait_count_total`, `go_sql_wait_duration_seconds_total`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "keystage_requests_total") || strings.HasPrefix(line, "keystage_lockouts") || strings.HasPrefix(line, "keystage_sync") {
				t.Log(line)
			}
		}
	}
	for _, secret := range []string{teacher, pupil, cred} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics names %q: metrics must not say who", secret)
		}
	}
}

func TestMetricsAndHealth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	s, err := sqlstore.Open(t.Context(), sqlstore.Config{URL: filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := serveMetrics(t, s)
	body := scrape(t, addr)
	for _, want := range []string{`keystage_accounts{status="active"} 331` /* 330 people and the LDAP service account */, "keystage_audit_chain_length", "go_sql_open_connections"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, body := httpGet(t, "http://"+addr+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	s.Close()
	if code, _ := httpGet(t, "http://"+addr+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz with the database closed: %d, want 503", code)
	}
}

// serveMetrics serves s's /metrics and /healthz alone on a free port until
// the test ends, and checks that it then shuts down cleanly.
func serveMetrics(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	cfg := defaults()
	cfg.Metrics.Listen = "127.0.0.1:0"
	f, err := server.MetricsFrontend(cfg.Metrics.Listen, s, directory.New(s, directory.Config{}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("graceful shutdown: %v", err)
		}
	})
	return f.Addrs[0]
}
