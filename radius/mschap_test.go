package radius

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	"layeh.com/radius/rfc2759"
	"layeh.com/radius/rfc3079"
)

// The example of RFC 2759 9.2: the response checks, and the authenticator
// response and MPPE keys, made from the hash of the NT hash kept with the
// account, are the RFC's and rfc3079's.
func TestMSCHAPv2RFC2759Example(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	auth := unhex("5B5D7C7D7B3F2F3E3C2C602132262628")
	peer := unhex("21402324255E262A28295F2B3A337C7E")
	nt := unhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
	resp := append(append(append([]byte{7, 0}, peer...), make([]byte, 8)...), nt...)
	m, err := parseMSCHAPv2(auth, resp, "User")
	if err != nil {
		t.Fatal(err)
	}
	hash := ntHash("clientPass")
	if !m.verify(newNTResponder(hash)) {
		t.Fatal("the RFC's NT-Response does not verify")
	}
	hashHash := rfc2759.NTPasswordHash(hash)
	if got, want := string(m.success(hashHash)), "\x07S=407A5589115FD0D6209F510FE9C04566932CDA56"; got != want {
		t.Errorf("success = %q, want %q", got, want)
	}
	send, recv, err := m.mppeKeys(hashHash)
	if err != nil {
		t.Fatal(err)
	}
	wantSend, _ := rfc3079.MakeKey(nt, []byte("clientPass"), true)
	wantRecv, _ := rfc3079.MakeKey(nt, []byte("clientPass"), false)
	if !bytes.Equal(send, wantSend) || !bytes.Equal(recv, wantRecv) {
		t.Errorf("MPPE keys %x %x, want %x %x", send, recv, wantSend, wantRecv)
	}
}

// ntHash must agree with rfc2759's NtPasswordHash on every password a
// request may carry: ASCII, accents, characters outside the BMP (two
// UTF-16 units) and bytes that are not UTF-8.
func TestNTHashAgreesWithRFC2759(t *testing.T) {
	for _, pw := range []string{
		"", "k7mqx-3tazr-9p4ce", "clé-été", "日本語のパスワード", "🔑🔐x", "\xff\xfeab", "a\xed\xa0\x80b", "\x00", string(make([]byte, 128)),
	} {
		u, err := rfc2759.ToUTF16([]byte(pw))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ntHash(pw), rfc2759.NTPasswordHash(u); !bytes.Equal(got, want) {
			t.Errorf("ntHash(%q) = %x, want %x", pw, got, want)
		}
	}
}

func FuzzNTHash(f *testing.F) {
	f.Add("k7mqx-3tazr-9p4ce")
	f.Add("\xff🔑")
	f.Fuzz(func(t *testing.T, pw string) {
		u, _ := rfc2759.ToUTF16([]byte(pw))
		if got, want := ntHash(pw), rfc2759.NTPasswordHash(u); !bytes.Equal(got, want) {
			t.Errorf("ntHash(%q) = %x, want %x", pw, got, want)
		}
	})
}

// The responder, its DES keys scheduled once, answers as rfc2759's
// ChallengeResponse does, and matches nothing without a 16-byte hash.
func TestNTResponderAgreesWithRFC2759(t *testing.T) {
	for i := range 64 {
		hash := ntHash(fmt.Sprintf("password-%d", i))
		challenge := rfc2759.ChallengeHash([]byte{byte(i)}, []byte("challenge"), []byte("user"))
		want := rfc2759.ChallengeResponse(challenge, hash)
		r := newNTResponder(hash)
		if !r.matches(challenge, want) {
			t.Fatalf("hash %x: the responder does not match rfc2759's response %x", hash, want)
		}
		wrong := bytes.Clone(want)
		wrong[i%24] ^= 1
		if r.matches(challenge, wrong) {
			t.Fatalf("hash %x: the responder matches a wrong response", hash)
		}
	}
	if newNTResponder(make([]byte, 15)).matches(make([]byte, 8), make([]byte, 24)) {
		t.Error("a responder of a 15-byte hash matched")
	}
}
