package radius_test

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"testing"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/vendors/microsoft"

	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// FuzzHandlePacket feeds arbitrary datagrams to both ports: the server must
// not crash, and must answer only what carries a valid Message-Authenticator
// (auth port) or Request Authenticator (accounting port) under the NAS's
// secret, with a reply that the NAS can verify.
func FuzzHandlePacket(f *testing.F) {
	secret := radiustest.Secret
	f.Add(accessRequest(f, secret, pap("jo.teacher", "k7mqx-3tazr-9p4ce")), true)
	f.Add(accessRequest(f, secret, pap("jo.teacher", "wrong")), true)
	f.Add(accessRequest(f, secret, func(p *layeh.Packet) {
		rfc2865.UserName_SetString(p, `SCHOOL\jo.teacher`)
		microsoft.MSCHAPChallenge_Set(p, make([]byte, 16))
		microsoft.MSCHAP2Response_Set(p, make([]byte, 50))
	}), true)
	f.Add(accessRequest(f, secret, func(p *layeh.Packet) {
		rfc2865.UserName_SetString(p, "jo.teacher")
		rfc2865.CHAPPassword_Set(p, make([]byte, 17))
	}), true)
	f.Add(eapRequest(f, []byte("state"), []byte{2, 1, 0, 5, 1}), true)
	acct := layeh.New(layeh.CodeAccountingRequest, []byte(secret))
	rfc2866.AcctStatusType_Set(acct, rfc2866.AcctStatusType_Value_Start)
	rfc2865.UserName_SetString(acct, "jo.teacher")
	rfc2866.AcctSessionID_SetString(acct, "S1")
	b, _ := acct.Encode()
	f.Add(b, false)
	f.Add([]byte{1, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Add([]byte{}, false)

	srv := radiustest.New(f, radiustest.Options{Config: radius.Config{ReplyMessages: true, EAP: &countingEAP{
		result: radius.EAPResult{Outcome: radius.EAPChallenge, EAPMessage: []byte{1, 2, 0, 4}, State: []byte("s")}}}, NoServe: true})
	srv.AddUser(f, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce"})
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, b []byte, auth bool) {
		in := append([]byte(nil), b...)
		reply := srv.Radius.HandlePacket(ctx, nas, b, auth)
		if reply == nil {
			return
		}
		req, ok := authentic(in, []byte(secret), auth)
		if !ok {
			t.Fatalf("answered a packet that should be dropped: % x", in)
		}
		if !layeh.IsAuthenticResponse(reply, req, []byte(secret)) || reply[1] != req[1] {
			t.Fatalf("reply does not verify: % x", reply)
		}
		if reply[20] != 80 {
			t.Fatalf("reply does not start with Message-Authenticator: % x", reply)
		}
	})
}

// authentic re-implements, independently of the server, the checks a
// request must pass to be answered; it returns the packet trimmed to its
// length field.
func authentic(b, secret []byte, auth bool) ([]byte, bool) {
	if len(b) < 20 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < 20 || n > len(b) || n > 4096 {
		return nil, false
	}
	b = b[:n]
	code := layeh.Code(b[0])
	if auth != (code == layeh.CodeAccessRequest || code == layeh.CodeStatusServer) {
		return nil, false
	}
	if !auth && (code != layeh.CodeAccountingRequest || !layeh.IsAuthenticRequest(b, secret)) {
		return nil, false
	}
	off, count := -1, 0
	for i := 20; i < n; {
		if i+2 > n || b[i+1] < 2 || i+int(b[i+1]) > n {
			return nil, false
		}
		if b[i] == 80 {
			off, count = i, count+1
		}
		i += int(b[i+1])
	}
	if count == 0 {
		return b, !auth
	}
	if count > 1 || b[off+1] != 18 {
		return nil, false
	}
	buf := append([]byte(nil), b...)
	clear(buf[off+2 : off+18])
	if !auth {
		clear(buf[4:20])
	}
	mac := hmac.New(md5.New, secret)
	mac.Write(buf)
	return b, hmac.Equal(mac.Sum(nil), b[off+2:off+18])
}
