package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore/pgtest"
)

// disconnectNAS answers Disconnect-Requests with an ACK and tells of each.
func disconnectNAS(t *testing.T, secret string) (int, <-chan string) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	got := make(chan string, 4)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			p, err := layeh.Parse(buf[:n], []byte(secret))
			if err != nil || p.Code != layeh.CodeDisconnectRequest {
				continue
			}
			got <- rfc2865.UserName_GetString(p)
			out, _ := p.Response(layeh.CodeDisconnectACK).Encode()
			conn.WriteToUDP(out, from)
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).Port, got
}

// keystage suspend, run as its own command while keystage serve runs,
// ends the person's live Wi-Fi session: the server follows the audit
// trail in the shared database.
func TestSuspendEndsLiveSessionOfRunningServer(t *testing.T) {
	t.Setenv("KEYSTAGE_DATABASE_URL", pgtest.URL(t))
	dir := t.TempDir()
	ks := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return keystage(t, stdin, append([]string{"--data", dir}, args...)...)
	}
	if code, out, errOut := ks("", "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	// nas add makes the key file: the database holds no sealed secret yet.
	secret := "a-long-random-shared-secret-7Q"
	port, got := disconnectNAS(t, secret)
	if code, _, errOut := ks(secret+"\n", "nas", "add", "hall-ap", "--address", "127.0.0.1", "--coa-port", fmt.Sprint(port)); code != 0 {
		t.Fatalf("nas add: %s", errOut)
	}
	if code, _, errOut := ks("", "account", "add", "--username", "jteacher", "--role", "staff", "--given", "Jo"); code != 0 {
		t.Fatalf("account add: %s", errOut)
	}
	if code, _, errOut := ks("", "wifi", "issue", "jteacher"); code != 0 {
		t.Fatalf("wifi issue: %s", errOut)
	}

	// keystage serve's RADIUS frontend, in this process on its own store.
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, dataDir: dir}
	cfg, err := e.config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.RADIUS.Enabled, cfg.RADIUS.AuthAddress, cfg.RADIUS.AcctAddress = true, freeUDPPort(t), freeUDPPort(t)
	cfg.RADIUS.EAP.Methods = nil // PAP is enough here; EAP needs a certificate
	s, err := e.openStore(false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := e.directoryWithKeys(s, false)
	if err != nil {
		t.Fatal(err)
	}
	f, err := buildRADIUS(e, d, cfg)
	if err != nil || f == nil {
		t.Fatalf("build: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	// A live session, as the access point's Accounting-Start records it.
	a, err := s.AccountByUsername(ctx, "jteacher")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(ctx, &directory.Session{AccountID: a.ID, Username: a.Username, NASName: "hall-ap", NASAddress: "127.0.0.1",
		SessionID: "HALL-1", StartedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := ks("", "suspend", "jteacher", "--for", "2d", "--reason", "Misuse of chat", "--incident", "INC-12")
	if code != 0 {
		t.Fatalf("suspend: %d %s %s", code, out, errOut)
	}
	select {
	case user := <-got:
		if user != "jteacher" {
			t.Errorf("Disconnect-Request for %q", user)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the running server sent no Disconnect-Request after keystage suspend")
	}
}
