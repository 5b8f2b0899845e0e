package radius_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"layeh.com/radius/rfc2759"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// need finds a tool from freeradius-utils: a test without it skips, except
// in CI, where it fails.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed: CI must install freeradius-utils", tool)
		}
		t.Skipf("%s is not installed (apt-get install freeradius-utils): real-client test skipped", tool)
	}
	return p
}

// radtest runs Debian's radtest; it exits 0 on Access-Accept.
func radtest(t *testing.T, method, user, password, server string) (string, bool) {
	t.Helper()
	bin := need(t, "radtest")
	cmd := exec.Command(bin, "-t", method, user, password, server, "0", radiustest.Secret)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil && strings.Contains(string(out), "Access-Accept")
}

// radclient sends attrs (one "Attr = value" per line) with Debian's radclient.
func radclient(t *testing.T, server, kind, attrs string) (string, error) {
	t.Helper()
	bin := need(t, "radclient")
	cmd := exec.Command(bin, "-x", "-r", "1", "-t", "2", server, kind, radiustest.Secret)
	cmd.Stdin = strings.NewReader(attrs)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mschapv2Attrs computes, as a supplicant would, the MS-CHAPv2 attributes
// of an Access-Request and the MS-CHAP2-Success (in hex) that proves the
// server knew the password.
func mschapv2Attrs(t *testing.T, user, password string) (string, string) {
	t.Helper()
	authChallenge, peerChallenge := make([]byte, 16), make([]byte, 16)
	rand.Read(authChallenge)
	rand.Read(peerChallenge)
	name := user
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	nt, err := rfc2759.GenerateNTResponse(authChallenge, peerChallenge, []byte(name), []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	resp := append(append(append([]byte{7, 0}, peerChallenge...), make([]byte, 8)...), nt...)
	ar, err := rfc2759.GenerateAuthenticatorResponse(authChallenge, peerChallenge, nt, []byte(name), []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	attrs := fmt.Sprintf("User-Name = %q\nMS-CHAP-Challenge = 0x%x\nMS-CHAP2-Response = 0x%x\nMessage-Authenticator = 0x00\n", user, authChallenge, resp)
	return attrs, hex.EncodeToString(append([]byte{7}, ar...))
}

func policies() radius.Config {
	return radius.Config{
		ReplyMessages: true,
		Policies: []radius.Policy{
			{Group: "staff", VLAN: "10", FilterID: "staff-acl", SessionTimeout: 8 * time.Hour, Class: "staff"},
			{Group: "pupils", VLAN: "20", FilterID: "pupil-acl", Class: "pupil"},
		},
	}
}

func TestRealClientPAPAndMSCHAPv2(t *testing.T) {
	srv := radiustest.New(t, radiustest.Options{Config: policies()})
	srv.AddUser(t, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce", Groups: []string{"staff", "pupils"}})
	srv.AddUser(t, radiustest.User{Username: "sam.pupil", Role: directory.RolePupil, WiFi: "pupil-wifi-cred", Groups: []string{"pupils"}})

	for _, tc := range []struct {
		name, method, user, password string
		accept                       bool
		want                         []string
	}{
		{"pap accept", "pap", "jo.teacher", "k7mqx-3tazr-9p4ce", true,
			[]string{"Tunnel-Type:0 = VLAN", "Tunnel-Medium-Type:0 = IEEE-802", `Tunnel-Private-Group-Id:0 = "10"`, `Filter-Id = "staff-acl"`, "Session-Timeout = 28800", "User-Name = \"jo.teacher\""}},
		{"pap wrong", "pap", "jo.teacher", "k7mqx-3tazr-9p4cf", false, []string{"Wrong username or Wi-Fi password"}},
		{"pap unknown", "pap", "nobody", "k7mqx-3tazr-9p4ce", false, []string{"Wrong username or Wi-Fi password"}},
		{"pap domain prefix", "pap", `SCHOOL\Jo.Teacher`, "k7mqx-3tazr-9p4ce", true, []string{`Tunnel-Private-Group-Id:0 = "10"`}},
		// radtest -t mschap speaks MS-CHAP version 1.
		{"mschap accept", "mschap", "sam.pupil", "pupil-wifi-cred", true, []string{`Tunnel-Private-Group-Id:0 = "20"`, `Class = 0x707570696c`}},
		{"mschap domain prefix", "mschap", `SCHOOL\sam.pupil`, "pupil-wifi-cred", true, []string{"Access-Accept"}},
		{"mschap wrong", "mschap", "sam.pupil", "pupil-wifi-crex", false, []string{"Access-Reject"}},
		{"chap accept", "chap", "jo.teacher", "k7mqx-3tazr-9p4ce", true, []string{"Access-Accept"}},
		{"chap wrong", "chap", "jo.teacher", "nope", false, []string{"Access-Reject"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, accepted := radtest(t, tc.method, tc.user, tc.password, srv.Auth)
			if accepted != tc.accept {
				t.Fatalf("accepted = %v, want %v:\n%s", accepted, tc.accept, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("reply lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// MS-CHAPv2: radclient sends what a supplicant computes.
	for _, tc := range []struct {
		name, user, password string
		accept               bool
	}{
		{"mschapv2 accept", "sam.pupil", "pupil-wifi-cred", true},
		{"mschapv2 domain prefix", `SCHOOL\sam.pupil`, "pupil-wifi-cred", true},
		{"mschapv2 wrong", "sam.pupil", "pupil-wifi-crex", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs, success := mschapv2Attrs(t, tc.user, tc.password)
			out, err := radclient(t, srv.Auth, "auth", attrs)
			if accepted := err == nil && strings.Contains(out, "Access-Accept"); accepted != tc.accept {
				t.Fatalf("accepted = %v, want %v: %v\n%s", accepted, tc.accept, err, out)
			}
			if !tc.accept {
				return
			}
			for _, w := range []string{"MS-CHAP2-Success = 0x" + success, "MS-MPPE-Recv-Key = 0x", "MS-MPPE-Send-Key = 0x", `Tunnel-Private-Group-Id:0 = "20"`} {
				if !strings.Contains(out, w) {
					t.Errorf("reply lacks %q:\n%s", w, out)
				}
			}
		})
	}
	st := srv.Radius.Stats()
	if st.Accepts != 7 || st.Rejects != 5 || st.Dropped() != 0 {
		t.Errorf("stats: %+v", st)
	}
}

func TestRealClientSuspendedRejectedWithReason(t *testing.T) {
	srv := radiustest.New(t, radiustest.Options{Config: policies()})
	a := srv.AddUser(t, radiustest.User{Username: "suspended.pupil", Role: directory.RolePupil, WiFi: "pupil-wifi-cred"})
	until := time.Now().Add(72 * time.Hour).UTC()
	if out, ok := radtest(t, "pap", "suspended.pupil", "pupil-wifi-cred", srv.Auth); !ok {
		t.Fatalf("before the suspension: %s", out)
	}
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSuspension(ctx, &directory.Suspension{AccountID: a.ID, From: time.Now().Add(-time.Minute), Until: until,
			Reason: "sanction", CreatedBy: "dsl", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "dsl", Action: "suspension.add", Target: "account:suspended.pupil"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The hook the directory calls after a suspension drops cached facts.
	srv.Radius.AccessEnded(context.Background(), a)
	out, ok := radtest(t, "mschap", "suspended.pupil", "pupil-wifi-cred", srv.Auth)
	if ok {
		t.Fatalf("suspended account accepted:\n%s", out)
	}
	if want := "Your network access is suspended until " + until.Format("Mon 2 Jan 2006"); !strings.Contains(out, want) {
		t.Errorf("reject lacks %q:\n%s", want, out)
	}
}

func TestRealClientNoMessageAuthenticatorDropped(t *testing.T) {
	srv := radiustest.New(t, radiustest.Options{})
	srv.AddUser(t, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce"})
	// Without "Message-Authenticator = 0x00" radclient sends none.
	out, err := radclient(t, srv.Auth, "auth", "User-Name = jo.teacher\nUser-Password = k7mqx-3tazr-9p4ce\n")
	if err == nil || strings.Contains(out, "Access-Accept") {
		t.Fatalf("request without Message-Authenticator was answered:\n%s", out)
	}
	if st := srv.Radius.Stats(); st.DroppedNoMsgAuth == 0 || st.Accepts != 0 {
		t.Errorf("stats: %+v", st)
	}
	// The same request with it is answered.
	out, err = radclient(t, srv.Auth, "auth", "User-Name = jo.teacher\nUser-Password = k7mqx-3tazr-9p4ce\nMessage-Authenticator = 0x00\n")
	if err != nil || !strings.Contains(out, "Access-Accept") {
		t.Fatalf("with Message-Authenticator: %v\n%s", err, out)
	}
}

func TestRealClientAccounting(t *testing.T) {
	srv := radiustest.New(t, radiustest.Options{})
	a := srv.AddUser(t, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce"})
	common := "User-Name = jo.teacher\nAcct-Session-Id = \"5F2A0001\"\nCalling-Station-Id = \"AA:BB:CC:DD:EE:FF\"\nCalled-Station-Id = \"11-22-33-44-55-66:School\"\nNAS-Port = 1\n"
	if out, err := radclient(t, srv.Acct, "acct", common+"Acct-Status-Type = Start\nFramed-IP-Address = 10.20.0.7\n"); err != nil || !strings.Contains(out, "Accounting-Response") {
		t.Fatalf("start: %v\n%s", err, out)
	}
	ctx := context.Background()
	live, err := srv.Store.Sessions(ctx, a.ID, time.Time{}, true)
	if err != nil || len(live) != 1 {
		t.Fatalf("live sessions after start: %+v %v", live, err)
	}
	if x := live[0]; x.CallingStation != "aa-bb-cc-dd-ee-ff" || x.CalledStation != "11-22-33-44-55-66:School" || x.FramedIP != "10.20.0.7" || x.NASName != "test-nas" {
		t.Errorf("session: %+v", x)
	}
	interim := common + "Acct-Status-Type = Interim-Update\nAcct-Session-Time = 300\nAcct-Input-Octets = 500\nAcct-Output-Octets = 700\n"
	if out, err := radclient(t, srv.Acct, "acct", interim); err != nil || !strings.Contains(out, "Accounting-Response") {
		t.Fatalf("interim: %v\n%s", err, out)
	}
	if live, _ := srv.Store.Sessions(ctx, a.ID, time.Time{}, true); len(live) != 1 || live[0].InputBytes != 500 || live[0].OutputBytes != 700 {
		t.Fatalf("after interim: %+v", live)
	}
	stop := common + "Acct-Status-Type = Stop\nAcct-Session-Time = 600\nAcct-Input-Octets = 1000\nAcct-Input-Gigawords = 1\nAcct-Output-Octets = 2000\nAcct-Terminate-Cause = User-Request\n"
	if out, err := radclient(t, srv.Acct, "acct", stop); err != nil || !strings.Contains(out, "Accounting-Response") {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	all, _ := srv.Store.Sessions(ctx, a.ID, time.Time{}, false)
	if len(all) != 1 || all[0].StoppedAt.IsZero() || all[0].InputBytes != 1<<32+1000 || all[0].OutputBytes != 2000 || all[0].TerminateCause != "User-Request" {
		t.Fatalf("after stop: %+v", all)
	}
	srv.Radius.FlushUses(ctx)
	use, err := srv.Store.LastUse(ctx, a.ID)
	if err != nil || use[directory.ServiceWiFi].IsZero() {
		t.Errorf("last use: %v %v", use, err)
	}
	// Accounting-On: the NAS restarted, its sessions are over.
	if out, err := radclient(t, srv.Acct, "acct", strings.Replace(common, "5F2A0001", "5F2A0002", 1)+"Acct-Status-Type = Start\n"); err != nil {
		t.Fatalf("second start: %v\n%s", err, out)
	}
	if out, err := radclient(t, srv.Acct, "acct", "Acct-Status-Type = Accounting-On\nNAS-Identifier = ap1\n"); err != nil {
		t.Fatalf("accounting-on: %v\n%s", err, out)
	}
	if live, _ := srv.Store.Sessions(ctx, a.ID, time.Time{}, true); len(live) != 0 {
		t.Errorf("sessions live after Accounting-On: %+v", live)
	}
}
