package radius_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2868"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/vendors/microsoft"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

var nas = netip.MustParseAddrPort("127.0.0.1:40000")

// accessRequest builds a signed Access-Request the way a NAS does.
func accessRequest(t testing.TB, secret string, attrs func(p *layeh.Packet)) []byte {
	t.Helper()
	p := layeh.New(layeh.CodeAccessRequest, []byte(secret))
	attrs(p)
	p.Add(rfc2869.MessageAuthenticator_Type, make(layeh.Attribute, 16))
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return signMsgAuth(b, secret)
}

// signMsgAuth fills in the Message-Authenticator of an Access-Request (the
// last attribute, 16 zero bytes).
func signMsgAuth(b []byte, secret string) []byte {
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(b)
	copy(b[len(b)-16:], mac.Sum(nil))
	return b
}

func pap(user, password string) func(p *layeh.Packet) {
	return func(p *layeh.Packet) {
		rfc2865.UserName_SetString(p, user)
		rfc2865.UserPassword_SetString(p, password)
	}
}

// checkReply verifies a reply the way a NAS does: the Response
// Authenticator, and a Message-Authenticator that comes first.
func checkReply(t *testing.T, reply, req []byte, secret string) *layeh.Packet {
	t.Helper()
	if reply == nil {
		t.Fatal("no reply")
	}
	if !layeh.IsAuthenticResponse(reply, req, []byte(secret)) {
		t.Fatal("reply authenticator wrong")
	}
	if reply[20] != byte(rfc2869.MessageAuthenticator_Type) || reply[21] != 18 {
		t.Fatalf("Message-Authenticator is not the first attribute: % x", reply[20:22])
	}
	buf := append([]byte(nil), reply...)
	copy(buf[4:20], req[4:20])
	clear(buf[22:38])
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(buf)
	if !hmac.Equal(mac.Sum(nil), reply[22:38]) {
		t.Fatal("reply Message-Authenticator wrong")
	}
	p, err := layeh.Parse(reply, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newServer(t *testing.T, cfg radius.Config) *radiustest.Server {
	cfg.ReplyMessages = true
	srv := radiustest.New(t, radiustest.Options{Config: cfg, NoServe: true})
	srv.AddUser(t, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce", Groups: []string{"staff"}})
	return srv
}

func TestDrops(t *testing.T) {
	srv := newServer(t, radius.Config{})
	ctx := context.Background()
	good := accessRequest(t, radiustest.Secret, pap("jo.teacher", "k7mqx-3tazr-9p4ce"))
	noMA := func() []byte {
		p := layeh.New(layeh.CodeAccessRequest, []byte(radiustest.Secret))
		pap("jo.teacher", "k7mqx-3tazr-9p4ce")(p)
		b, _ := p.MarshalBinary()
		return b
	}()
	wrongMA := append([]byte(nil), good...)
	wrongMA[len(wrongMA)-1] ^= 1
	wrongSecret := accessRequest(t, "another-secret", pap("jo.teacher", "k7mqx-3tazr-9p4ce"))
	acct := layeh.New(layeh.CodeAccountingRequest, []byte(radiustest.Secret))
	rfc2866.AcctStatusType_Set(acct, rfc2866.AcctStatusType_Value_Start)
	acctBytes, _ := acct.Encode()
	badAcct := append([]byte(nil), acctBytes...)
	badAcct[5] ^= 1
	twoMA := func() []byte {
		p := layeh.New(layeh.CodeAccessRequest, []byte(radiustest.Secret))
		pap("jo.teacher", "k7mqx-3tazr-9p4ce")(p)
		p.Add(rfc2869.MessageAuthenticator_Type, make(layeh.Attribute, 16))
		p.Add(rfc2869.MessageAuthenticator_Type, make(layeh.Attribute, 16))
		b, _ := p.MarshalBinary()
		return signMsgAuth(b, radiustest.Secret)
	}()

	for _, tc := range []struct {
		name  string
		src   netip.AddrPort
		b     []byte
		auth  bool
		count func(radius.Stats) uint64
	}{
		{"unknown source", netip.MustParseAddrPort("192.0.2.1:1812"), good, true, func(s radius.Stats) uint64 { return s.DroppedUnknownClient }},
		{"short", nas, good[:19], true, func(s radius.Stats) uint64 { return s.DroppedMalformed }},
		{"length past datagram", nas, good[:len(good)-1], true, func(s radius.Stats) uint64 { return s.DroppedMalformed }},
		{"bad attribute", nas, append(append([]byte(nil), good[:20]...), 1, 0), true, func(s radius.Stats) uint64 { return s.DroppedMalformed }},
		{"no Message-Authenticator", nas, noMA, true, func(s radius.Stats) uint64 { return s.DroppedNoMsgAuth }},
		{"wrong Message-Authenticator", nas, wrongMA, true, func(s radius.Stats) uint64 { return s.DroppedBadMsgAuth }},
		{"two Message-Authenticators", nas, twoMA, true, func(s radius.Stats) uint64 { return s.DroppedBadMsgAuth }},
		{"wrong shared secret", nas, wrongSecret, true, func(s radius.Stats) uint64 { return s.DroppedBadMsgAuth }},
		{"accounting on the auth port", nas, acctBytes, true, func(s radius.Stats) uint64 { return s.DroppedCode }},
		{"access on the accounting port", nas, good, false, func(s radius.Stats) uint64 { return s.DroppedCode }},
		{"accounting authenticator wrong", nas, badAcct, false, func(s radius.Stats) uint64 { return s.DroppedBadAuth }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "length past datagram" {
				// The length field says more than arrived.
				tc.b = append([]byte(nil), tc.b...)
			}
			before := tc.count(srv.Radius.Stats())
			if reply := srv.Radius.HandlePacket(ctx, tc.src, tc.b, tc.auth); reply != nil {
				t.Fatalf("answered a packet to drop: % x", reply)
			}
			if tc.count(srv.Radius.Stats()) != before+1 {
				t.Errorf("not counted: %+v", srv.Radius.Stats())
			}
		})
	}
	if st := srv.Radius.Stats(); st.Accepts+st.Rejects != 0 {
		t.Errorf("a dropped packet was authenticated: %+v", st)
	}
	// A packet that did not prove the secret is not the NAS heard from.
	srv.Radius.FlushUses(ctx)
	if heard, err := srv.Store.NASHeard(ctx); err != nil || len(heard) != 0 {
		t.Errorf("dropped packets noted as heard: %v %v", heard, err)
	}
	// And the good one is answered, signed, with the Proxy-States back in order.
	good = accessRequest(t, radiustest.Secret, func(p *layeh.Packet) {
		pap("jo.teacher", "k7mqx-3tazr-9p4ce")(p)
		p.Add(rfc2865.ProxyState_Type, layeh.Attribute("proxy-1"))
		p.Add(rfc2865.ProxyState_Type, layeh.Attribute("proxy-2"))
	})
	p := checkReply(t, srv.Radius.HandlePacket(ctx, nas, good, true), good, radiustest.Secret)
	ps, _ := rfc2865.ProxyState_Gets(p)
	if p.Code != layeh.CodeAccessAccept || len(ps) != 2 || string(ps[0]) != "proxy-1" || string(ps[1]) != "proxy-2" {
		t.Errorf("good request: %v, Proxy-State %q", p.Code, ps)
	}
	srv.Radius.FlushUses(ctx)
	if heard, err := srv.Store.NASHeard(ctx); err != nil || len(heard) != 1 || heard["test-nas"].IsZero() {
		t.Errorf("the NAS is not noted as heard from: %v %v", heard, err)
	}
}

// A retransmission gets the cached bytes and is never authenticated twice,
// even with a wrong password (which would count twice towards the lockout).
func TestRetransmissionAnsweredFromCache(t *testing.T) {
	srv := newServer(t, radius.Config{})
	ctx := context.Background()
	for _, pw := range []string{"k7mqx-3tazr-9p4ce", "wrong-password"} {
		req := accessRequest(t, radiustest.Secret, pap("jo.teacher", pw))
		first := srv.Radius.HandlePacket(ctx, nas, req, true)
		again := srv.Radius.HandlePacket(ctx, nas, req, true)
		if first == nil || !bytes.Equal(first, again) {
			t.Fatalf("retransmission answered differently:\n% x\n% x", first, again)
		}
		// From another port it is another request.
		other := srv.Radius.HandlePacket(ctx, netip.AddrPortFrom(nas.Addr(), nas.Port()+1), req, true)
		checkReply(t, other, req, radiustest.Secret)
	}
	st := srv.Radius.Stats()
	if st.Retransmits != 2 || st.AccessRequests != 4 {
		t.Errorf("stats: %+v", st)
	}
	// A request with no Calling-Station-Id is from a source the account
	// does not know; the same wrong password from two ports counts once.
	n, _, err := srv.Store.Failures(ctx, directory.UnfamiliarKey("jo.teacher"), time.Now(), time.Hour)
	if err != nil || n != 1 {
		t.Errorf("failures counted = %d (%v), want 1", n, err)
	}
}

type countingEAP struct {
	calls  atomic.Int32
	result radius.EAPResult
	from   atomic.Pointer[radius.EAPOrigin]
}

func (c *countingEAP) HandleEAP(ctx context.Context, from radius.EAPOrigin, state, msg []byte) (radius.EAPResult, error) {
	c.calls.Add(1)
	c.from.Store(&from)
	return c.result, nil
}

func eapRequest(t testing.TB, state []byte, msg []byte) []byte {
	return accessRequest(t, radiustest.Secret, func(p *layeh.Packet) {
		rfc2865.UserName_SetString(p, "anonymous")
		if state != nil {
			rfc2865.State_Set(p, state)
		}
		for len(msg) > 0 {
			n := min(len(msg), 253)
			p.Add(rfc2869.EAPMessage_Type, msg[:n])
			msg = msg[n:]
		}
	})
}

func TestEAPHandedOver(t *testing.T) {
	long := bytes.Repeat([]byte{0xab}, 600)
	h := &countingEAP{result: radius.EAPResult{Outcome: radius.EAPChallenge, EAPMessage: long, State: []byte("conv-1")}}
	srv := newServer(t, radius.Config{EAP: h, Policies: []radius.Policy{{Group: "staff", VLAN: "10"}}})
	ctx := context.Background()
	req := accessRequest(t, radiustest.Secret, func(p *layeh.Packet) {
		rfc2865.UserName_SetString(p, "anonymous")
		rfc2865.CallingStationID_SetString(p, "AA:BB:CC:00:11:22")
		p.Add(rfc2869.EAPMessage_Type, []byte{2, 1, 0, 9, 1, 'j', 'o', '.', 't'})
	})
	reply := srv.Radius.HandlePacket(ctx, nas, req, true)
	p := checkReply(t, reply, req, radiustest.Secret)
	if p.Code != layeh.CodeAccessChallenge || string(rfc2865.State_Get(p)) != "conv-1" {
		t.Fatalf("challenge: %v state %q", p.Code, rfc2865.State_Get(p))
	}
	// The handler learns the NAS and the device, which bound the
	// conversations each may hold.
	if from := h.from.Load(); from == nil || from.NAS == "" || from.Station != "aa-bb-cc-00-11-22" {
		t.Errorf("EAP origin %+v, want the NAS client's name and the normalised Calling-Station-Id", from)
	}
	var parts [][]byte
	for _, a := range p.Attributes {
		if a.Type == rfc2869.EAPMessage_Type {
			parts = append(parts, a.Attribute)
		}
	}
	if len(parts) != 3 || len(parts[0]) != 253 || !bytes.Equal(bytes.Join(parts, nil), long) {
		t.Errorf("EAP-Message split: %d parts", len(parts))
	}
	srv.Radius.HandlePacket(ctx, nas, req, true)
	if h.calls.Load() != 1 {
		t.Errorf("EAP handler called %d times for one request and its retransmission", h.calls.Load())
	}

	msk := make([]byte, 64)
	for i := range msk {
		msk[i] = byte(i)
	}
	h.result = radius.EAPResult{Outcome: radius.EAPAccept, EAPMessage: []byte{3, 7, 0, 4}, Username: "jo.teacher", MSK: msk}
	req = eapRequest(t, []byte("conv-1"), []byte{2, 7, 0, 6, 26, 3})
	p = checkReply(t, srv.Radius.HandlePacket(ctx, nas, req, true), req, radiustest.Secret)
	if p.Code != layeh.CodeAccessAccept {
		t.Fatalf("accept: %v", p.Code)
	}
	// MS-MPPE keys decrypt, with the request's authenticator, to the MSK halves.
	reqP, _ := layeh.Parse(req, []byte(radiustest.Secret))
	p.Authenticator = reqP.Authenticator
	recv, err := microsoft.MSMPPERecvKey_Lookup(p, reqP)
	send, err2 := microsoft.MSMPPESendKey_Lookup(p, reqP)
	if err != nil || err2 != nil || !bytes.Equal(recv, msk[:32]) || !bytes.Equal(send, msk[32:]) {
		t.Errorf("MPPE keys: %x %x %v %v", recv, send, err, err2)
	}
	if vlanOf(p) != "10" || string(rfc2869.EAPMessage_Get(p)) != string([]byte{3, 7, 0, 4}) {
		t.Errorf("accept lacks the policy or the EAP-Success")
	}

	// The gate still has the last word: a suspended account gets EAP-Failure.
	a, _ := srv.Store.AccountByUsername(ctx, "jo.teacher")
	suspend(t, srv, a, time.Time{})
	req = eapRequest(t, []byte("conv-2"), []byte{2, 8, 0, 6, 26, 3})
	p = checkReply(t, srv.Radius.HandlePacket(ctx, nas, req, true), req, radiustest.Secret)
	if p.Code != layeh.CodeAccessReject || !bytes.Equal(rfc2869.EAPMessage_Get(p), []byte{4, 7, 0, 4}) ||
		!strings.Contains(rfc2865.ReplyMessage_GetString(p), "suspended") {
		t.Errorf("suspended EAP accept: %v %x %q", p.Code, rfc2869.EAPMessage_Get(p), rfc2865.ReplyMessage_GetString(p))
	}
}

func suspend(t *testing.T, srv *radiustest.Server, a directory.Account, until time.Time) {
	t.Helper()
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSuspension(ctx, &directory.Suspension{AccountID: a.ID, From: time.Now().Add(-time.Minute), Until: until,
			Reason: "test", CreatedBy: "dsl", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "dsl", Action: "suspension.add", Target: "account:" + a.Username})
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Directory.EndAccess(context.Background(), a)
	srv.Radius.WaitDisconnects()
}

// TestLockoutShared: PAP failures count in the directory's lockout, by
// device (Calling-Station-Id at its NAS): guesses from new devices refuse
// new devices, never the owner's phone; a device guessing names is
// blocked; and the same wrong password tried again counts once.
func TestLockoutShared(t *testing.T) {
	srv := newServer(t, radius.Config{ReplyMessages: true})
	ctx := context.Background()
	const right = "k7mqx-3tazr-9p4ce"
	from := func(mac, user, pw string) func(*layeh.Packet) {
		return func(p *layeh.Packet) {
			pap(user, pw)(p)
			if mac != "" {
				rfc2865.CallingStationID_SetString(p, mac)
			}
		}
	}
	ask := func(mac, user, pw string) *layeh.Packet {
		req := accessRequest(t, radiustest.Secret, from(mac, user, pw))
		return checkReply(t, srv.Radius.HandlePacket(ctx, nas, req, true), req, radiustest.Secret)
	}
	if p := ask("AA:BB:CC:00:00:01", "jo.teacher", right); p.Code != layeh.CodeAccessAccept {
		t.Fatalf("the teacher's phone: %v", p.Code)
	}
	// A phone retrying a stale password counts once.
	for range 20 {
		ask("AA:BB:CC:00:00:01", "jo.teacher", "stale-password")
	}
	if p := ask("AA:BB:CC:00:00:01", "jo.teacher", right); p.Code != layeh.CodeAccessAccept {
		t.Fatalf("after a stale password 20 times: %v %q", p.Code, rfc2865.ReplyMessage_GetString(p))
	}
	// Guesses from invented devices.
	for i := range 20 {
		ask(fmt.Sprintf("02:00:00:00:00:%02x", i), "jo.teacher", fmt.Sprintf("guess-%d", i))
	}
	p := ask("02:00:00:00:01:00", "jo.teacher", right)
	if p.Code != layeh.CodeAccessReject || !strings.Contains(rfc2865.ReplyMessage_GetString(p), "new device") {
		t.Errorf("a new device with the right password: %v %q", p.Code, rfc2865.ReplyMessage_GetString(p))
	}
	// The lock is the directory's: LDAP from a new address sees it too.
	a, _ := srv.Store.AccountByUsername(ctx, "jo.teacher")
	if att, err := srv.Directory.Lockout().Begin(ctx, a, "", directory.Origin{ID: "ldap:192.0.2.99"}, time.Now()); err != nil || !att.Locked() {
		t.Errorf("LDAP from a new address: %+v %v, want refused by the lockout", att, err)
	}
	if p := ask("AA:BB:CC:00:00:01", "jo.teacher", right); p.Code != layeh.CodeAccessAccept {
		t.Fatalf("the teacher's own phone: %v %q", p.Code, rfc2865.ReplyMessage_GetString(p))
	}
	// A device guessing names is blocked by its Calling-Station-Id.
	for i := range 10 {
		ask("AA:BB:CC:00:11:22", fmt.Sprintf("nobody%d", i), "x")
	}
	p = ask("AA:BB:CC:00:11:22", "nobody99", "x")
	if p.Code != layeh.CodeAccessReject || !strings.Contains(rfc2865.ReplyMessage_GetString(p), "this device") {
		t.Errorf("guessing device: %v %q", p.Code, rfc2865.ReplyMessage_GetString(p))
	}
}

func TestQuarantineVLAN(t *testing.T) {
	for _, quarantine := range []string{"", "999"} {
		srv := newServer(t, radius.Config{QuarantineVLAN: quarantine, Policies: []radius.Policy{{Group: "staff", VLAN: "10"}}})
		ctx := context.Background()
		doc := directory.AUPDocument{Audience: "staff", Version: "1", Text: "Be kind.", Digest: "d", PublishedAt: time.Now().Add(-time.Hour)}
		err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if err := tx.AddAUPDocument(ctx, &doc); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "test", Action: "aup.publish", Target: "aup:staff"})
		})
		if err != nil {
			t.Fatal(err)
		}
		req := accessRequest(t, radiustest.Secret, pap("jo.teacher", "k7mqx-3tazr-9p4ce"))
		p := checkReply(t, srv.Radius.HandlePacket(ctx, nas, req, true), req, radiustest.Secret)
		msg := rfc2865.ReplyMessage_GetString(p)
		if !strings.Contains(msg, "Acceptable Use Policy") {
			t.Errorf("quarantine %q: message %q", quarantine, msg)
		}
		switch quarantine {
		case "":
			if p.Code != layeh.CodeAccessReject {
				t.Errorf("unsigned AUP without quarantine: %v", p.Code)
			}
		default:
			if p.Code != layeh.CodeAccessAccept || vlanOf(p) != quarantine {
				t.Errorf("quarantine: %v vlan %q", p.Code, vlanOf(p))
			}
		}
	}
}

func TestPolicyPrecedence(t *testing.T) {
	pols := []radius.Policy{{Group: "staff", VLAN: "10"}, {Group: "pupils", VLAN: "20"}, {Group: "*", VLAN: "30"}}
	srv := newServer(t, radius.Config{Policies: pols})
	srv.AddUser(t, radiustest.User{Username: "both", WiFi: "wifi-both-cred", Groups: []string{"pupils", "staff"}})
	srv.AddUser(t, radiustest.User{Username: "pupil", WiFi: "wifi-pupil-cred", Groups: []string{"pupils"}})
	srv.AddUser(t, radiustest.User{Username: "guest", WiFi: "wifi-guest-cred"})
	for user, vlan := range map[string]string{"both": "10", "pupil": "20", "guest": "30"} {
		req := accessRequest(t, radiustest.Secret, pap(user, "wifi-"+user+"-cred"))
		p := checkReply(t, srv.Radius.HandlePacket(context.Background(), nas, req, true), req, radiustest.Secret)
		if p.Code != layeh.CodeAccessAccept || vlanOf(p) != vlan {
			t.Errorf("%s: %v vlan %q, want %s", user, p.Code, vlanOf(p), vlan)
		}
	}
}

// fakeNAS stands in for an access point's Dynamic Authorization Server.
type fakeNAS struct {
	conn *net.UDPConn
	got  chan *layeh.Packet
}

func newFakeNAS(t *testing.T, answer layeh.Code) *fakeNAS {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &fakeNAS{conn: conn, got: make(chan *layeh.Packet, 4)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			req := append([]byte(nil), buf[:n]...)
			// The request must be authentic: its authenticator and its
			// Message-Authenticator (with the authenticator zeroed).
			if !layeh.IsAuthenticRequest(req, []byte(radiustest.Secret)) {
				continue
			}
			p, err := layeh.Parse(req, []byte(radiustest.Secret))
			if err != nil {
				continue
			}
			ma := rfc2869.MessageAuthenticator_Get(p)
			buf2 := append([]byte(nil), req...)
			clear(buf2[4:20])
			clear(buf2[22:38])
			mac := hmac.New(md5.New, []byte(radiustest.Secret))
			mac.Write(buf2)
			if req[20] != 80 || !hmac.Equal(mac.Sum(nil), ma) {
				continue
			}
			f.got <- p
			resp := p.Response(answer)
			out, _ := resp.Encode()
			conn.WriteToUDP(out, from)
		}
	}()
	return f
}

// pointNAS makes the test NAS take Disconnect-Request at the fake's port and
// gives jo.teacher a live session on it.
func pointNAS(t *testing.T, srv *radiustest.Server, fake *fakeNAS) directory.Account {
	t.Helper()
	ctx := context.Background()
	port := fake.conn.LocalAddr().(*net.UDPAddr).Port
	ns, _ := srv.Store.NASClients(ctx)
	n := ns[0]
	n.CoAPort = port
	err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.PutNASClient(ctx, &n); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "test", Action: "nas.update", Target: "nas:test-nas"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Radius.ReloadClients(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ := srv.Store.AccountByUsername(ctx, "jo.teacher")
	x := directory.Session{AccountID: a.ID, Username: "jo.teacher", NASName: "test-nas", NASAddress: "127.0.0.1", SessionID: "S-42",
		CallingStation: "aa-bb-cc-dd-ee-ff", StartedAt: time.Now().Add(-time.Minute), UpdatedAt: time.Now()}
	if err := srv.Store.PutSession(ctx, &x); err != nil {
		t.Fatal(err)
	}
	return a
}

// A suspension made in another process reaches the server through the
// audit trail, not the in-process hook.
func TestDisconnectFollowsAuditTrail(t *testing.T) {
	srv := radiustest.New(t, radiustest.Options{Config: radius.Config{AuditPoll: 20 * time.Millisecond}})
	srv.AddUser(t, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce"})
	fake := newFakeNAS(t, layeh.CodeDisconnectACK)
	a := pointNAS(t, srv, fake)
	err := srv.Store.Update(context.Background(), func(ctx context.Context, tx directory.Tx) error {
		if _, err := tx.UpdateAccount(ctx, a.ID, func(a *directory.Account) error { a.Status = directory.StatusDisabled; return nil }); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "cli:elsewhere", Action: "account.disable", Target: "account:jo.teacher"})
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-fake.got:
		if rfc2866.AcctSessionID_GetString(p) != "S-42" {
			t.Errorf("disconnect for %q", rfc2866.AcctSessionID_GetString(p))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no Disconnect-Request after a disable made outside the server")
	}
}

func TestDisconnectOnSuspension(t *testing.T) {
	for _, answer := range []layeh.Code{layeh.CodeDisconnectACK, layeh.CodeDisconnectNAK} {
		srv := newServer(t, radius.Config{})
		ctx := context.Background()
		fake := newFakeNAS(t, answer)
		a := pointNAS(t, srv, fake)
		suspend(t, srv, a, time.Time{})
		select {
		case p := <-fake.got:
			if p.Code != layeh.CodeDisconnectRequest || rfc2865.UserName_GetString(p) != "jo.teacher" || rfc2866.AcctSessionID_GetString(p) != "S-42" ||
				!rfc2865.NASIPAddress_Get(p).Equal(net.IPv4(127, 0, 0, 1)) {
				t.Errorf("disconnect request: %v %q %q", p.Code, rfc2865.UserName_GetString(p), rfc2866.AcctSessionID_GetString(p))
			}
		default:
			t.Fatal("the NAS got no Disconnect-Request")
		}
		evs, _ := srv.Store.AuditEvents(ctx, 0, 100)
		var ev *audit.Event
		for i := range evs {
			if evs[i].Action == "radius.disconnect" {
				ev = &evs[i]
			}
		}
		want := map[layeh.Code]string{layeh.CodeDisconnectACK: `"result":"ack"`, layeh.CodeDisconnectNAK: `"result":"nak"`}[answer]
		if ev == nil || !strings.Contains(string(ev.After), want) || ev.Target != "account:jo.teacher" {
			t.Errorf("audit event for %v: %+v", answer, ev)
		}
		live, _ := srv.Store.Sessions(ctx, a.ID, time.Time{}, true)
		if (answer == layeh.CodeDisconnectACK) != (len(live) == 0) {
			t.Errorf("after %v: live sessions %+v", answer, live)
		}
	}
}

func vlanOf(p *layeh.Packet) string {
	_, v := rfc2868.TunnelPrivateGroupID_GetString(p)
	return v
}

func TestEAPBackend(t *testing.T) {
	srv := newServer(t, radius.Config{})
	ctx := context.Background()
	pw, nt, err := srv.Radius.EAPSecret(ctx, `SCHOOL\Jo.Teacher`)
	if err != nil || pw != "k7mqx-3tazr-9p4ce" || len(nt) != 16 {
		t.Fatalf("secret: %q %x %v", pw, nt, err)
	}
	if _, _, err := srv.Radius.EAPSecret(ctx, "nobody"); !errors.Is(err, radius.ErrUnknownUser) {
		t.Errorf("unknown: %v", err)
	}
	if err := srv.Radius.EAPAuthorize(ctx, "jo.teacher"); err != nil {
		t.Errorf("authorize: %v", err)
	}
	for i := 0; i < 5; i++ {
		srv.Radius.EAPFailed(ctx, "jo.teacher")
	}
	err = srv.Radius.EAPAuthorize(ctx, "jo.teacher")
	var refused *directory.RefusedError
	// Without a Calling-Station-Id the device is unknown: new devices are
	// refused for the account.
	if !errors.As(err, &refused) || refused.Decision.Reason != directory.ReasonNewDevicesLocked {
		t.Errorf("after 5 failures: %v", err)
	}
}

func TestRetentionPurgesOldSessions(t *testing.T) {
	first := radiustest.New(t, radiustest.Options{NoServe: true})
	st := first.Store
	a := first.AddUser(t, radiustest.User{Username: "roamer"})
	ctx := context.Background()
	old := directory.Session{AccountID: a.ID, Username: "roamer", NASAddress: "127.0.0.1", SessionID: "old", StartedAt: time.Now().AddDate(-2, 0, 0),
		UpdatedAt: time.Now().AddDate(-2, 0, 0), StoppedAt: time.Now().AddDate(-2, 0, 0)}
	recent := directory.Session{AccountID: a.ID, Username: "roamer", NASAddress: "127.0.0.1", SessionID: "recent", StartedAt: time.Now().Add(-time.Hour),
		UpdatedAt: time.Now(), StoppedAt: time.Now()}
	for _, x := range []*directory.Session{&old, &recent} {
		if err := st.PutSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	// A server over the same store with a year's retention purges at start.
	radiustest.New(t, radiustest.Options{Store: st, Config: radius.Config{Retention: 365 * 24 * time.Hour}})
	deadline := time.Now().Add(30 * time.Second)
	for {
		all, err := st.Sessions(ctx, a.ID, time.Time{}, false)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range all {
			ids = append(ids, x.SessionID)
		}
		if len(ids) == 1 && ids[0] == "recent" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions left: %v", ids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A suspension made outside the server (no hook) is refused well within
// the facts TTL, set here to an hour: the audit trail invalidates the cache.
func TestSuspensionElsewhereEndsCachedAccess(t *testing.T) {
	srv := radiustest.New(t, radiustest.Options{Config: radius.Config{ReplyMessages: true, FactsTTL: time.Hour, AuditPoll: 20 * time.Millisecond}})
	a := srv.AddUser(t, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce"})
	ctx := context.Background()
	send := func() *layeh.Packet {
		req := accessRequest(t, radiustest.Secret, pap("jo.teacher", "k7mqx-3tazr-9p4ce"))
		return checkReply(t, srv.Radius.HandlePacket(ctx, nas, req, true), req, radiustest.Secret)
	}
	if p := send(); p.Code != layeh.CodeAccessAccept {
		t.Fatalf("before: %v", p.Code)
	}
	err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSuspension(ctx, &directory.Suspension{AccountID: a.ID, From: time.Now().Add(-time.Minute), Reason: "test",
			CreatedBy: "dsl", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "cli:dsl", Action: "suspension.add", Target: "account:jo.teacher"})
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := send()
		if p.Code == layeh.CodeAccessReject {
			if !strings.Contains(rfc2865.ReplyMessage_GetString(p), "suspended") {
				t.Errorf("reject says %q", rfc2865.ReplyMessage_GetString(p))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a suspension made elsewhere never reached the cached facts")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
