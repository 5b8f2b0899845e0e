package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/server"
	"keystage.dev/keystage/webfilter"
)

// needProgram finds a Debian peer's program; it skips without it, except
// in CI.
func needProgram(t *testing.T, name, pkg string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed: CI must install %s", name, pkg)
		}
		t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	}
	return bin
}

const filterSecret = "filter-shared-secret-9Xq"

// filterReceiver is Debian's FreeRADIUS as a web filter's accounting
// listener on a loopback port, writing what it receives to a detail file,
// as a filter fed by FreeRADIUS's detail + radrelay pattern reads it.
type filterReceiver struct {
	t      *testing.T
	bin    string
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
}

func newFilterReceiver(t *testing.T) *filterReceiver {
	t.Helper()
	r := &filterReceiver{t: t, bin: needProgram(t, "freeradius", "freeradius"), dir: t.TempDir()}
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.port = c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	for _, d := range []string{"log", "run"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"dictionary":   "$INCLUDE /usr/share/freeradius/dictionary\n",
		"radiusd.conf": fmt.Sprintf(filterReceiverConf, r.dir, filterSecret, r.port),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(r.dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(r.kill)
	return r
}

func (r *filterReceiver) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

// start runs freeradius in the foreground and waits until it is ready.
func (r *filterReceiver) start() {
	r.t.Helper()
	logPath := filepath.Join(r.dir, "log", "freeradius.out")
	out, err := os.Create(logPath)
	if err != nil {
		r.t.Fatal(err)
	}
	defer out.Close()
	r.cmd = exec.Command(r.bin, "-f", "-d", r.dir, "-n", "radiusd", "-l", "stdout")
	r.cmd.Stdout, r.cmd.Stderr = out, out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(r.cmd, r.exited)
	waitUntil(r.t, "FreeRADIUS to be ready", func() bool {
		b, _ := os.ReadFile(logPath)
		select {
		case <-r.exited:
			r.t.Fatalf("freeradius exited:\n%s", b)
		default:
		}
		return strings.Contains(string(b), "Ready to process requests")
	})
}

// kill stops it at once, as a filter that crashes or restarts.
func (r *filterReceiver) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		<-r.exited
		r.cmd = nil
	}
}

// records reads the detail file: one map of attribute to values per
// Accounting-Request received.
func (r *filterReceiver) records() []map[string][]string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "detail"))
	var out []map[string][]string
	for _, block := range strings.Split(string(b), "\n\n") {
		if strings.TrimSpace(block) == "" {
			continue
		}
		rec := map[string][]string{}
		for _, line := range strings.Split(block, "\n")[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(line), " = ")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"`)
			if h, ok := strings.CutPrefix(v, "0x"); ok && k == "Class" {
				if raw, err := hex.DecodeString(h); err == nil {
					v = string(raw)
				}
			}
			rec[k] = append(rec[k], v)
		}
		out = append(out, rec)
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// filterReceiverConf: the directory, the client secret, the port.
const filterReceiverConf = `# A web filter's accounting listener, for tests, on loopback only.
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
raddbdir = %[1]s
confdir = %[1]s
logdir = %[1]s/log
run_dir = %[1]s/run
db_dir = %[1]s
libdir = /usr/lib/freeradius
pidfile = %[1]s/run/freeradius.pid
name = freeradius
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no

log {
	destination = stdout
	colourise = no
}

security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = 0
	status_server = no
}

thread pool {
	start_servers = 1
	max_servers = 1
	min_spare_servers = 1
	max_spare_servers = 1
	max_requests_per_server = 0
}

client keystage {
	ipaddr = 127.0.0.1
	secret = %[2]s
	require_message_authenticator = no
}

modules {
	detail {
		filename = %[1]s/detail
		escape_filenames = no
		permissions = 0600
		header = "%%t"
		locking = no
	}
}

server default {
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = %[3]d
	}
	preacct {
	}
	accounting {
		detail
	}
}
`

// The web filter, proved against a real receiver: Debian's FreeRADIUS as
// the filter's accounting listener hears, through keystage serve's RADIUS
// frontend, a pupil's Wi-Fi session (signed in with eapol_test's PEAP,
// accounted by radclient as the access point) with their groups; the
// receiver is killed mid-session and, when it returns, has every record in
// order; the feed names the pupil at their address; and suspending them
// sends the filter a Stop once the access point acknowledged the
// Disconnect.
func TestWebFilterFreeRADIUSReceiver(t *testing.T) {
	radclient := needProgram(t, "radclient", "freeradius-utils")
	needEapolTest(t)
	recv := newFilterReceiver(t)
	nasPort, disconnects := disconnectNAS(t, demoNASSecret)

	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	var logs bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &logs, dataDir: dir, demoDir: dir}
	cfg, err := e.config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.LDAP.demo(dir)
	cfg.RADIUS.demo(dir)
	cfg.RADIUS.AuthAddress, cfg.RADIUS.AcctAddress = freeUDPPort(t), freeUDPPort(t)
	token := "feed-token-for-the-filter"
	sum := sha256.Sum256([]byte(token))
	cfg.WebFilter = WebFilterSection{
		Receivers: []WebFilterReceiver{{Name: "filter", Address: recv.addr(), Secret: filterSecret,
			UserName: "{user}@school.example", ClassGroups: []string{"year-*", "pupils"}}},
		LDAP: WebFilterLDAP{Lifetime: duration{time.Hour}},
		Feed: WebFilterFeed{Listen: "127.0.0.1:0", Tokens: []WebFilterToken{{Name: "filter", SHA256: hex.EncodeToString(sum[:])}}},
	}
	if p := cfg.validate(); len(p) > 0 {
		t.Fatal(p)
	}
	s, err := e.openStore(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := e.directoryWithKeys(s, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pupil := wifiPupils(t, ctx, d, 1)[0]
	// The demo access point takes Disconnect-Requests on the fake NAS's port.
	if err := s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		nases, err := s.NASClients(ctx)
		if err != nil || len(nases) != 1 {
			return fmt.Errorf("NAS clients: %v %v", nases, err)
		}
		n := nases[0]
		n.CoAPort = nasPort
		if err := tx.PutNASClient(ctx, &n); err != nil {
			return err
		}
		return d.Record(ctx, tx, "test", "nas.update", "nas:"+n.Name, nil, map[string]int{"coa_port": nasPort})
	}); err != nil {
		t.Fatal(err)
	}

	wf, err := buildWebFilter(e, d, cfg)
	if err != nil || wf == nil {
		t.Fatalf("build web filter: %v", err)
	}
	rf, err := buildRADIUS(e, d, cfg)
	if err != nil || rf == nil {
		t.Fatalf("build RADIUS: %v", err)
	}
	fw := e.webfilter
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 2)
	for _, f := range []*server.Frontend{wf, rf} {
		go func() { done <- f.Serve(sctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	})

	recv.start()
	// The pupil's phone signs in with PEAP, as at the access point.
	if out := eapolPEAP(t, rf)(pupil.username, pupil.credential); !strings.Contains(out, "SUCCESS") {
		t.Fatalf("eapol_test PEAP:\n%s", tail(out, 30))
	}
	// The access point's accounting, one request at a time.
	acct := func(attrs ...string) {
		t.Helper()
		cmd := exec.Command(radclient, "-r", "3", "-t", "5", cfg.RADIUS.AcctAddress, "acct", demoNASSecret)
		cmd.Stdin = strings.NewReader(strings.Join(attrs, "\n") + "\n")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Accounting-Response") {
			t.Fatalf("radclient %v: %v\n%s", attrs, err, out)
		}
	}
	user := "User-Name = " + pupil.username
	mac := "Calling-Station-Id = 02-00-00-00-00-01"
	acct(user, "Acct-Status-Type = Start", "Acct-Session-Id = HALL-1", "Framed-IP-Address = 10.20.0.5", mac)
	acct(user, "Acct-Status-Type = Interim-Update", "Acct-Session-Id = HALL-1", "Framed-IP-Address = 10.20.0.5", mac, "Acct-Session-Time = 300")
	waitUntil(t, "the receiver to hear the Start and the Interim-Update", func() bool { return len(recv.records()) == 2 })

	// The filter restarts: what happens meanwhile waits on disk.
	recv.kill()
	acct(user, "Acct-Status-Type = Interim-Update", "Acct-Session-Id = HALL-1", "Framed-IP-Address = 10.20.0.5", mac, "Acct-Session-Time = 600")
	acct(user, "Acct-Status-Type = Stop", "Acct-Session-Id = HALL-1", "Framed-IP-Address = 10.20.0.5", mac, "Acct-Session-Time = 900", "Acct-Terminate-Cause = User-Request")
	acct("Acct-Status-Type = Accounting-On", "NAS-Identifier = hall-ap")
	acct(user, "Acct-Status-Type = Start", "Acct-Session-Id = HALL-2", "Framed-IP-Address = 10.20.0.6", mac)
	waitUntil(t, "a failed send", func() bool { st := fw.Stats()[0]; return st.Failures > 0 && st.Queued == 4 })
	recv.start()
	waitUntil(t, "the receiver to hear all six", func() bool { return len(recv.records()) >= 6 })
	recs := recv.records()
	var got []string
	for _, r := range recs {
		got = append(got, strings.Join(r["Acct-Status-Type"], "")+":"+strings.Join(r["Acct-Session-Id"], ""))
	}
	want := "Start:HALL-1 Interim-Update:HALL-1 Interim-Update:HALL-1 Stop:HALL-1 Accounting-On:keystage-accounting-on-127.0.0.1 Start:HALL-2"
	if strings.Join(got, " ") != want {
		t.Fatalf("the receiver heard\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	// What the filter received for the pupil's session, attribute by
	// attribute.
	start := recs[0]
	for k, v := range map[string]string{
		"User-Name":          pupil.username + "@school.example",
		"Framed-IP-Address":  "10.20.0.5",
		"Calling-Station-Id": "02-00-00-00-00-01",
		"Class":              "pupils year-7",
		"Filter-Id":          "pupils-filtered",
		"NAS-IP-Address":     "127.0.0.1",
		"NAS-Identifier":     "demo-loopback",
	} {
		if g := strings.Join(start[k], " "); g != v {
			t.Errorf("Start %s = %q, want %q", k, g, v)
		}
	}
	if stop := recs[3]; strings.Join(stop["Acct-Terminate-Cause"], "") != "User-Request" || strings.Join(stop["Acct-Session-Time"], "") != "900" {
		t.Errorf("Stop: %v", stop)
	}
	// The records held while the receiver was down say how long they waited.
	if len(recs[2]["Acct-Delay-Time"]) != 1 || len(recs[2]["Event-Timestamp"]) != 1 {
		t.Errorf("held Interim-Update without Acct-Delay-Time and Event-Timestamp: %v", recs[2])
	}

	// The feed names the pupil at their address now.
	var feedURL string
	for _, a := range wf.Addrs {
		if u, ok := strings.CutPrefix(a, "feed "); ok {
			feedURL = u
		}
	}
	req, _ := http.NewRequest("GET", feedURL+"10.20.0.6", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ans webfilter.Answer
	json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(ans.People) != 1 || ans.People[0].User != pupil.username || ans.People[0].FilterID != "pupils-filtered" ||
		!strings.Contains(strings.Join(ans.People[0].Groups, " "), "year-7") {
		t.Errorf("feed: %d %+v", resp.StatusCode, ans)
	}

	// A suspension ends the live session: the access point is asked, and
	// the filter hears the Stop.
	a, err := s.AccountByUsername(ctx, pupil.username)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Suspend(ctx, "test", a, directory.Suspension{From: time.Now().Add(-time.Minute), Until: time.Now().Add(48 * time.Hour), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-disconnects:
		if u != pupil.username {
			t.Errorf("Disconnect-Request for %q", u)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no Disconnect-Request after the suspension")
	}
	waitUntil(t, "the Stop after the Disconnect", func() bool { return len(recv.records()) >= 7 })
	stop := recv.records()[6]
	if strings.Join(stop["Acct-Status-Type"], "") != "Stop" || strings.Join(stop["Acct-Session-Id"], "") != "HALL-2" ||
		strings.Join(stop["Acct-Terminate-Cause"], "") != "Admin-Reset" || strings.Join(stop["Framed-IP-Address"], "") != "10.20.0.6" {
		t.Errorf("Stop after the Disconnect: %v", stop)
	}
	if testing.Verbose() {
		b, _ := os.ReadFile(filepath.Join(recv.dir, "detail"))
		t.Logf("the receiver's detail file:\n%s", b)
	}
}

// keystage webfilter token prints a token and the configuration lines
// that hold its SHA-256, which config check accepts.
func TestWebFilterTokenCommand(t *testing.T) {
	code, out, errOut := keystage(t, "", "webfilter", "token", "smoothwall")
	if code != 0 {
		t.Fatalf("%d %s", code, errOut)
	}
	lines := strings.Split(out, "\n")
	token := lines[2]
	sum := sha256.Sum256([]byte(token))
	if len(token) != 64 || !strings.Contains(out, `sha256 = "`+hex.EncodeToString(sum[:])+`"`) {
		t.Fatalf("token %q and its hash not in:\n%s", token, out)
	}
	_, cfgLines, _ := strings.Cut(out, "restart keystage serve:\n")
	// config check also checks what serve needs, so the data directory is
	// one that exists.
	dir := t.TempDir()
	path := filepath.Join(dir, "keystage.toml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("data_dir = %q\n", dir)+"[webfilter.feed]\nlisten = \"127.0.0.1:8443\"\n"+cfgLines), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := keystage(t, "", "--config", path, "config", "check"); code != 0 {
		t.Errorf("the printed lines do not check: %s %s", out, errOut)
	}
	if code, _, _ := keystage(t, "", "webfilter", "token"); code == 0 {
		t.Error("no name accepted")
	}
}

// A [webfilter] with mistakes is refused with every problem named.
func TestWebFilterConfigProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	bad := `[[webfilter.receiver]]
name = "filter"
address = "10.0.0.5"
secret = "short"
user_name = "DOMAIN\\user"
[[webfilter.receiver]]
name = "filter"
address = "10.0.0.6:1813"
secret = "long-enough-secret"
[webfilter.ldap]
lifetime = "10s"
exclude_addresses = ["moodle"]
[webfilter.feed]
listen = "0.0.0.0:8443"
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := keystage(t, "", "--config", path, "config", "check")
	if code == 0 {
		t.Fatal("accepted")
	}
	for _, want := range []string{"7 problem(s)", "address \"10.0.0.5\"", "secret: at least 8", "put {user}", "appears twice",
		"webfilter.ldap.lifetime", "\"moodle\"", "no [[webfilter.feed.token]]"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error lacks %q:\n%s", want, errOut)
		}
	}
}

// keystage serve builds the web filter before the frontends that feed it:
// an access point's accounting reaches a receiver, and the metrics
// listener counts it.
func TestServeWiresWebFilter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	if code, _, errOut := keystage(t, "", "--data", dir, "demo", "--no-serve"); code != 0 {
		t.Fatal(errOut)
	}
	rconn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rconn.Close()
	heard := make(chan string, 4)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := rconn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			p, err := layeh.Parse(buf[:n], []byte(filterSecret))
			if err != nil {
				continue
			}
			heard <- rfc2866.AcctStatusType_Get(p).String() + ":" + rfc2865.UserName_GetString(p)
			out, _ := p.Response(layeh.CodeAccountingResponse).Encode()
			rconn.WriteToUDP(out, from)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, dataDir: dir, demoDir: dir}
	cfg, err := loadConfig("", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RADIUS.demo(dir)
	cfg.RADIUS.AuthAddress, cfg.RADIUS.AcctAddress = freeUDPPort(t), freeUDPPort(t)
	cfg.Metrics.Listen = "127.0.0.1:0"
	cfg.WebFilter.Receivers = []WebFilterReceiver{{Name: "filter", Address: rconn.LocalAddr().String(), Secret: filterSecret}}
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
	var metricsAddr string
	done := make(chan error, len(fes))
	for _, f := range fes {
		if f.Name == "metrics" {
			metricsAddr = f.Addrs[0]
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
	p := layeh.New(layeh.CodeAccountingRequest, []byte(demoNASSecret))
	rfc2866.AcctStatusType_Set(p, rfc2866.AcctStatusType_Value_Start)
	rfc2865.UserName_SetString(p, "someone")
	rfc2866.AcctSessionID_SetString(p, "W-1")
	// The frontends bind their ports as they start serving.
	waitUntil(t, "an Accounting-Response", func() bool {
		xctx, stop := context.WithTimeout(ctx, 2*time.Second)
		defer stop()
		_, err := (&layeh.Client{Retry: 500 * time.Millisecond}).Exchange(xctx, p, cfg.RADIUS.AcctAddress)
		return err == nil
	})
	select {
	case got := <-heard:
		if got != "Start:someone" {
			t.Errorf("receiver heard %q", got)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the receiver heard nothing")
	}
	waitUntil(t, "the metric", func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `keystage_webfilter_sent_total{receiver="filter"} 1`)
	})
}
