package radius_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius/rfc2759"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius/radiustest"
)

// syncBuffer is a log destination that the server's goroutines and the
// test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLines are the lines of the log that contain every one of want.
func logLines(log string, want ...string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		ok := l != ""
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// TestRealClientRefusalsLogged: each drop and each PAP, CHAP and MS-CHAP
// reject that radtest and radclient provoke leaves a log line with its
// reason, as FreeRADIUS's auth = yes does.
func TestRealClientRefusalsLogged(t *testing.T) {
	var buf syncBuffer
	srv := radiustest.New(t, radiustest.Options{Config: policies(), Log: slog.New(slog.NewTextHandler(&buf, nil))})
	srv.AddUser(t, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce"})
	srv.AddUser(t, radiustest.User{Username: "no.wifi"})

	for _, tc := range []struct {
		name, method, user, password string
		want                         []string
	}{
		{"pap wrong", "pap", "jo.teacher", "k7mqx-3tazr-9p4cf", []string{`user=jo.teacher`, `method=pap`, `reason="wrong Wi-Fi password"`}},
		{"chap unknown", "chap", "nobody", "x", []string{`user=nobody`, `method=chap`, `reason="no such user"`}},
		{"mschap no credential", "mschap", "no.wifi", "x", []string{`user=no.wifi`, `method=mschapv1`, `reason="the account has no Wi-Fi credential in force`}},
		{"pap unknown realm", "pap", "jo.teacher@elsewhere.example", "k7mqx-3tazr-9p4ce", []string{`reason="the User-Name has a realm that is not in radius.realms"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, ok := radtest(t, tc.method, tc.user, tc.password, srv.Auth); ok {
				t.Fatalf("accepted:\n%s", out)
			}
			if l := logLines(buf.String(), append([]string{"radius: Login incorrect", "level=INFO", "nas=test-nas"}, tc.want...)...); len(l) != 1 {
				t.Errorf("want one log line with %q, got %d:\n%s", tc.want, len(l), buf.String())
			}
		})
	}
	attrs, _ := mschapv2Attrs(t, "jo.teacher", "wrong-password")
	if out, err := radclient(t, srv.Auth, "auth", attrs); err == nil {
		t.Fatalf("mschapv2 wrong password accepted:\n%s", out)
	}
	if l := logLines(buf.String(), "radius: Login incorrect", "method=mschapv2", `reason="wrong Wi-Fi password"`); len(l) != 1 {
		t.Errorf("mschapv2 reject not logged:\n%s", buf.String())
	}

	// Drops: no Message-Authenticator, and the wrong shared secret.
	radclient(t, srv.Auth, "auth", "User-Name = jo.teacher\nUser-Password = k7mqx-3tazr-9p4ce\n")
	if l := logLines(buf.String(), "radius: request dropped", "level=WARN", `reason="Message-Authenticator missing`); len(l) == 0 {
		t.Errorf("missing Message-Authenticator not logged:\n%s", buf.String())
	}
	cmd := exec.Command(need(t, "radclient"), "-x", "-r", "1", "-t", "2", srv.Auth, "auth", "not-the-secret")
	cmd.Stdin = strings.NewReader("User-Name = jo.teacher\nUser-Password = k7mqx-3tazr-9p4ce\nMessage-Authenticator = 0x00\n")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("answered with the wrong secret:\n%s", out)
	}
	if l := logLines(buf.String(), "radius: request dropped", `reason="Message-Authenticator wrong: the shared secret on the NAS is not the one given to keystage nas add"`); len(l) == 0 {
		t.Errorf("wrong secret not logged:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "k7mqx") || strings.Contains(buf.String(), radiustest.Secret) || strings.Contains(buf.String(), "not-the-secret") {
		t.Errorf("a secret is in the log:\n%s", buf.String())
	}
}

// TestRefusalLogLimitedPerSource: an access point with the wrong secret
// retrying without end, or a flood, costs a bounded number of log lines
// per source and window, then one line saying how many were left out.
func TestRefusalLogLimitedPerSource(t *testing.T) {
	var buf syncBuffer
	now := time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)
	srv := radiustest.New(t, radiustest.Options{NoServe: true, Now: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(&buf, nil))})
	ctx := context.Background()
	stranger := netip.MustParseAddrPort("192.0.2.7:1645")
	for range 50 {
		if r := srv.Radius.HandlePacket(ctx, stranger, accessRequest(t, "whatever", pap("jo", "x")), true); r != nil {
			t.Fatal("an unknown client was answered")
		}
		srv.Radius.HandlePacket(ctx, nas, accessRequest(t, "wrong-secret", pap("jo", "x")), true)
	}
	unknown := logLines(buf.String(), "radius: request dropped", "from=192.0.2.7:1645", `reason="unknown client: no NAS client holds this address`)
	wrong := logLines(buf.String(), "radius: request dropped", "from=127.0.0.1:40000", "Message-Authenticator wrong")
	if len(unknown) == 0 || len(unknown) > 10 || len(wrong) == 0 || len(wrong) > 10 {
		t.Fatalf("%d and %d lines for 50 refusals each from two sources: want 1 to 10 each\n%s", len(unknown), len(wrong), buf.String())
	}
	now = now.Add(2 * time.Minute)
	srv.Radius.HandlePacket(ctx, stranger, accessRequest(t, "whatever", pap("jo", "x")), true)
	if l := logLines(buf.String(), "more refusals from this address were not logged", "from=192.0.2.7", "count=40"); len(l) != 1 {
		t.Errorf("the refusals left out are not counted:\n%s", buf.String())
	}
}

// TestRealClientRealmStripped: a device that sends tpatel@demo.keystage
// is accepted by PAP and MS-CHAPv2 when the realm is configured; another
// realm is not.
func TestRealClientRealmStripped(t *testing.T) {
	cfg := policies()
	cfg.Realms = []string{"demo.keystage"}
	srv := radiustest.New(t, radiustest.Options{Config: cfg})
	srv.AddUser(t, radiustest.User{Username: "tpatel", WiFi: "k7mqx-3tazr-9p4ce", Groups: []string{"staff"}})
	if out, ok := radtest(t, "pap", "tpatel@demo.keystage", "k7mqx-3tazr-9p4ce", srv.Auth); !ok || !strings.Contains(out, `User-Name = "tpatel"`) {
		t.Errorf("pap with the realm:\n%s", out)
	}
	if out, ok := radtest(t, "pap", "TPatel@Demo.Keystage", "k7mqx-3tazr-9p4ce", srv.Auth); !ok {
		t.Errorf("pap with the realm in capitals:\n%s", out)
	}
	if out, ok := radtest(t, "pap", "tpatel@other.example", "k7mqx-3tazr-9p4ce", srv.Auth); ok {
		t.Errorf("pap with a realm not configured was accepted:\n%s", out)
	}
	// MS-CHAPv2 hashes the name as sent, realm and all.
	attrs, success := mschapv2Attrs(t, "tpatel@demo.keystage", "k7mqx-3tazr-9p4ce")
	out, err := radclient(t, srv.Auth, "auth", attrs)
	if err != nil || !strings.Contains(out, "Access-Accept") || !strings.Contains(out, "MS-CHAP2-Success = 0x"+success) {
		t.Errorf("mschapv2 with the realm: %v\n%s", err, out)
	}
}

// TestRealClientMSCHAPErrorAndV1Keys: an MS-CHAPv2 reject says why in
// MS-CHAP-Error, and an MS-CHAPv1 accept carries MS-CHAP-MPPE-Keys, which
// a NAS that speaks MS-CHAP to its client needs.
func TestRealClientMSCHAPErrorAndV1Keys(t *testing.T) {
	srv := radiustest.New(t, radiustest.Options{Config: policies()})
	a := srv.AddUser(t, radiustest.User{Username: "sam.pupil", Role: directory.RolePupil, WiFi: "pupil-wifi-cred"})

	attrs, _ := mschapv2Attrs(t, "sam.pupil", "pupil-wifi-crex")
	out, err := radclient(t, srv.Auth, "auth", attrs)
	if err == nil || !strings.Contains(out, "Access-Reject") {
		t.Fatalf("wrong password: %v\n%s", err, out)
	}
	if !strings.Contains(out, "MS-CHAP-Error = ") || !strings.Contains(out, "E=691 R=0 C=") || !strings.Contains(out, " V=3 M=") {
		t.Errorf("MS-CHAPv2 reject without MS-CHAP-Error E=691 R=0 C=… V=3:\n%s", out)
	}

	out, ok := radtest(t, "mschap", "sam.pupil", "pupil-wifi-cred", srv.Auth)
	if !ok {
		t.Fatalf("mschap v1:\n%s", out)
	}
	u, _ := rfc2759.ToUTF16([]byte("pupil-wifi-cred"))
	want := "MS-CHAP-MPPE-Keys = 0x0000000000000000" + hex.EncodeToString(rfc2759.NTPasswordHash(rfc2759.NTPasswordHash(u)))
	if !strings.Contains(out, want) {
		t.Errorf("MS-CHAPv1 accept lacks %s:\n%s", want, out)
	}

	// A suspension: the error is the Windows "account disabled".
	suspend(t, srv, a, time.Now().Add(time.Hour))
	attrs, _ = mschapv2Attrs(t, "sam.pupil", "pupil-wifi-cred")
	out, _ = radclient(t, srv.Auth, "auth", attrs)
	if !strings.Contains(out, "Access-Reject") || !strings.Contains(out, "E=647 R=0") {
		t.Errorf("suspended: want MS-CHAP-Error E=647:\n%s", out)
	}
}
