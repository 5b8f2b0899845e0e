package eap

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"layeh.com/radius/rfc2759"
)

// The two RFC 2759 section 8.7 constants.
var (
	magicServerSigning = []byte("Magic server to client signing constant")
	magicPad           = []byte("Pad to make it do more than one iteration")
)

// ntHash returns the credential's NT hash, from the cleartext when the caller
// did not supply it.
func (s Secret) ntHash() []byte {
	if len(s.NTHash) == 16 {
		return s.NTHash
	}
	if s.Password == "" {
		return nil
	}
	u, err := rfc2759.ToUTF16([]byte(s.Password))
	if err != nil {
		return nil
	}
	return rfc2759.NTPasswordHash(u)
}

// dummyNTHash stands in for an unknown user's credential so that a wrong name
// costs the same as a wrong password.
var dummyNTHash = make([]byte, 16)

// mschapUser is the user name that enters the MS-CHAPv2 challenge hash: the
// name the peer sent, without a DOMAIN\ prefix (RFC 2759 section 8.2).
func mschapUser(name string) string {
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// checkMSCHAPv2 verifies an NT-Response against an NT hash and, when it
// matches, returns the authenticator response "S=..." that proves to the
// peer that we know the credential too.
func checkMSCHAPv2(ntHash, authChallenge, peerChallenge, ntResponse []byte, username string) (string, bool) {
	if len(ntHash) != 16 {
		ntHash = dummyNTHash
	}
	user := []byte(mschapUser(username))
	challenge := rfc2759.ChallengeHash(peerChallenge, authChallenge, user)
	want := rfc2759.ChallengeResponse(challenge, ntHash)
	if subtle.ConstantTimeCompare(want, ntResponse) != 1 {
		return "", false
	}
	return authenticatorResponse(ntHash, ntResponse, challenge), true
}

// authenticatorResponse is RFC 2759 section 8.7 GenerateAuthenticatorResponse
// computed from the NT hash, which is what the directory keeps.
func authenticatorResponse(ntHash, ntResponse, challenge []byte) string {
	hashHash := rfc2759.NTPasswordHash(ntHash)
	h := sha1.New()
	h.Write(hashHash)
	h.Write(ntResponse)
	h.Write(magicServerSigning)
	digest := h.Sum(nil)
	h = sha1.New()
	h.Write(digest)
	h.Write(challenge)
	h.Write(magicPad)
	return "S=" + strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}
