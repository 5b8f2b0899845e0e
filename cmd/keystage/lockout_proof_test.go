package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/radius/radiustest"
	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// TestGuessersCannotLockOutATeacher is the demo school served whole. A
// teacher signs in once from their own computer (LDAP), phone (PAP),
// laptop (PEAP, through eapol_test) and browser (the portal). Then one
// source makes 100 wrong guesses at the teacher's password on each of
// them, and another makes 100 each from a new Calling-Station-Id, as a
// pupil's phone can: the guessers end up refused even the right password,
// and the teacher still signs in from each of their own devices.
func TestGuessersCannotLockOutATeacher(t *testing.T) {
	eapol, err := exec.LookPath("eapol_test")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("eapol_test is not installed: CI must install eapoltest")
		}
		t.Skip("eapol_test is not installed (apt-get install eapoltest)")
	}
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
	cfg.Metrics.Listen = ""
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
	teacher, _ := demoNames(ctx, s)
	ta, err := s.AccountByUsername(ctx, teacher)
	if err != nil {
		t.Fatal(err)
	}
	wifi, err := d.WiFiSecret(ctx, ta)
	if err != nil {
		if wifi, err = d.IssueWiFi(ctx, "test", ta); err != nil {
			t.Fatal(err)
		}
	}
	fes, err := e.frontends(s, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := map[string]string{}
	var hints []string
	done := make(chan error, len(fes))
	for _, f := range fes {
		if len(f.Addrs) > 0 {
			addr[f.Name] = strings.TrimPrefix(f.Addrs[0], "ldap://")
		}
		hints = append(hints, f.Hints...)
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

	// LDAP, from a chosen loopback address (127.0.0.2 stands for a pupil's
	// laptop on the same network).
	dn := "uid=" + teacher + ",ou=people," + cfg.LDAP.BaseDN
	bind := func(from, pw string) error {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		l, err := ldap.DialURL("ldap://"+addr["ldap"], ldap.DialWithDialer(dialer))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Bind(dn, pw)
	}
	// PAP from a Calling-Station-Id.
	pap := func(station, pw string) *layeh.Packet {
		reply, err := radiustest.Exchange(ctx, cfg.RADIUS.AuthAddress, demoNASSecret, func(p *layeh.Packet) {
			rfc2865.UserName_SetString(p, teacher)
			rfc2865.UserPassword_SetString(p, pw)
			rfc2865.CallingStationID_SetString(p, station)
		})
		if err != nil {
			t.Fatal(err)
		}
		return reply
	}
	// PEAP-MSCHAPv2 through eapol_test, from a MAC address.
	var peapHint string
	for _, h := range hints {
		if strings.HasPrefix(h, "eapol_test ") && strings.HasSuffix(h, "# peap-mschapv2") {
			peapHint = h
		}
	}
	m := regexp.MustCompile(`-c (\S+) -a (\S+) -p (\S+) -s (\S+)`).FindStringSubmatch(peapHint)
	if m == nil {
		t.Fatalf("no PEAP hint in %q", hints)
	}
	template, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	confDir := t.TempDir()
	peap := func(mac, pw string) bool {
		t.Helper()
		conf := regexp.MustCompile(`(?m)^\tidentity=.*$`).ReplaceAllLiteralString(string(template), "\tidentity=\""+teacher+"\"")
		conf = regexp.MustCompile(`(?m)^\tpassword=.*$`).ReplaceAllLiteralString(conf, "\tpassword=\""+pw+"\"")
		path := filepath.Join(confDir, "peap.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(eapol, "-c", path, "-a", m[2], "-p", m[3], "-s", m[4], "-M", mac, "-t", "10").CombinedOutput()
		return strings.Contains(string(out), "\nSUCCESS")
	}
	// The portal, from a browser that keeps its cookies.
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar,
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the demo's self-signed certificate
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	signIn := func(c *http.Client, pw string) int {
		resp, err := c.PostForm("https://"+addr["portal"]+"/signin", url.Values{"username": {teacher}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	const phone, laptop = "02-7e-ac-00-00-01", "02:7e:ac:00:00:02"
	own := browser()
	familiar := func(when string) {
		t.Helper()
		if err := bind("127.0.0.1", demoStaffPassword); err != nil {
			t.Errorf("%s: LDAP from the teacher's computer: %v", when, err)
		}
		if r := pap(phone, wifi); r.Code != layeh.CodeAccessAccept {
			t.Errorf("%s: PAP from the teacher's phone: %v %q", when, r.Code, rfc2865.ReplyMessage_GetString(r))
		}
		if !peap(laptop, wifi) {
			t.Errorf("%s: PEAP from the teacher's laptop refused", when)
		}
		if code := signIn(own, demoStaffPassword); code != http.StatusSeeOther {
			t.Errorf("%s: the portal in the teacher's browser: %d", when, code)
		}
	}
	familiar("first sign-in")

	guesser := browser()
	for i := range 100 {
		guess := fmt.Sprintf("guess-%03d", i)
		if err := bind("127.0.0.2", guess); err == nil {
			t.Fatal("a guess was accepted")
		}
		if r := pap("02-66-00-00-00-01", guess); r.Code == layeh.CodeAccessAccept {
			t.Fatal("a guess was accepted")
		}
		if peap("02:66:00:00:00:02", guess) {
			t.Fatal("a guess was accepted")
		}
		if code := signIn(guesser, guess); code == http.StatusSeeOther {
			t.Fatal("a guess was accepted")
		}
	}
	for i := range 100 {
		guess := fmt.Sprintf("cycle-%03d", i)
		if r := pap(fmt.Sprintf("02-77-00-00-%02x-%02x", i/256, i%256), guess); r.Code == layeh.CodeAccessAccept {
			t.Fatal("a guess was accepted")
		}
		if peap(fmt.Sprintf("02:88:00:00:%02x:%02x", i/256, i%256), guess) {
			t.Fatal("a guess was accepted")
		}
	}
	// The guessers are refused even the right password, and told why.
	if err := bind("127.0.0.2", demoStaffPassword); err == nil || !strings.Contains(err.Error(), "data 775") {
		t.Errorf("the guessing computer with the right password: %v, want refused (data 775)", err)
	}
	if r := pap("02-77-00-00-ff-ff", wifi); r.Code != layeh.CodeAccessReject || !strings.Contains(rfc2865.ReplyMessage_GetString(r), "new device") {
		t.Errorf("yet another new phone with the right credential: %v %q", r.Code, rfc2865.ReplyMessage_GetString(r))
	}
	if peap("02:66:00:00:00:02", wifi) {
		t.Error("the guessing laptop with the right credential over PEAP: accepted, want refused")
	}
	if code := signIn(guesser, demoStaffPassword); code != http.StatusForbidden {
		t.Errorf("the guessing browser with the right password: %d, want 403", code)
	}
	familiar("after 600 guesses")

	// The trail holds the lock and a summary, not a flood.
	d.Lockout().Flush(ctx, d.Now())
	evs, err := s.AuditEventsAbout(ctx, "account:"+teacher, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var locked, failures int
	for _, ev := range evs {
		switch ev.Action {
		case audit.ActionSigninLocked:
			locked++
		case audit.ActionSigninFailures:
			failures++
		}
	}
	if locked == 0 || failures == 0 || locked+failures > 10 {
		t.Errorf("audit events about the teacher: %d locks, %d summaries; want a few of each", locked, failures)
	}
}
