package radius_test

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"testing"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2759"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/vendors/microsoft"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// A Wi-Fi credential taken over from Active Directory holds only the NT
// hash of the person's old password: MS-CHAPv2 and PAP verify against it;
// CHAP, which needs the cleartext, is refused rather than matched against
// the stored form.
func TestImportedNTHashWiFiCredential(t *testing.T) {
	const user, old = "old.staff", "Old-Dom41n-Pass"
	srv := radiustest.New(t, radiustest.Options{Config: radius.Config{ReplyMessages: true}, NoServe: true})
	srv.AddUser(t, radiustest.User{Username: user, WiFi: directory.WiFiNTCredential(passwords.NTHash(old)), Groups: []string{"staff"}})
	ctx := context.Background()
	code := func(attrs func(p *layeh.Packet)) layeh.Code {
		t.Helper()
		req := accessRequest(t, radiustest.Secret, attrs)
		return checkReply(t, srv.Radius.HandlePacket(ctx, nas, req, true), req, radiustest.Secret).Code
	}
	mschapv2 := func(pw string) func(p *layeh.Packet) {
		ac, pc := make([]byte, 16), make([]byte, 16)
		rand.Read(ac)
		rand.Read(pc)
		nt, err := rfc2759.GenerateNTResponse(ac, pc, []byte(user), []byte(pw))
		if err != nil {
			t.Fatal(err)
		}
		return func(p *layeh.Packet) {
			rfc2865.UserName_SetString(p, user)
			microsoft.MSCHAPChallenge_Set(p, ac)
			microsoft.MSCHAP2Response_Set(p, append(append(append([]byte{1, 0}, pc...), make([]byte, 8)...), nt...))
		}
	}
	chap := func(pw string) func(p *layeh.Packet) {
		return func(p *layeh.Packet) {
			challenge := make([]byte, 16)
			rand.Read(challenge)
			h := md5.New()
			h.Write([]byte{7})
			h.Write([]byte(pw))
			h.Write(challenge)
			rfc2865.UserName_SetString(p, user)
			rfc2865.CHAPChallenge_Set(p, challenge)
			rfc2865.CHAPPassword_Set(p, append([]byte{7}, h.Sum(nil)...))
		}
	}
	for _, c := range []struct {
		name  string
		attrs func(p *layeh.Packet)
		want  layeh.Code
	}{
		{"MS-CHAPv2, old password", mschapv2(old), layeh.CodeAccessAccept},
		{"MS-CHAPv2, wrong password", mschapv2(old + "x"), layeh.CodeAccessReject},
		{"PAP, old password", pap(user, old), layeh.CodeAccessAccept},
		{"PAP, wrong password", pap(user, old+"x"), layeh.CodeAccessReject},
		{"CHAP, old password", chap(old), layeh.CodeAccessReject},
		{"CHAP, the stored form", chap(directory.WiFiNTCredential(passwords.NTHash(old))), layeh.CodeAccessReject},
	} {
		if got := code(c.attrs); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
