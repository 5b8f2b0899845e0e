package radius

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"unicode/utf16"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2759"
	"layeh.com/radius/rfc3079"
	"layeh.com/radius/vendors/microsoft"

	"keystage.dev/keystage/directory"
)

// MS-CHAPv2 from the NT hash, with the rfc2759 and rfc3079 building blocks:
// the server never needs more than the hash, which is what an EAP method
// would be handed too.

// ntHash is NtPasswordHash (RFC 2759 8.3) of a password: MD4 of its
// UTF-16LE encoding, bytes that are not UTF-8 taken as U+FFFD (as
// rfc2759.ToUTF16 takes them). It encodes into one buffer rather than
// through a text transformer (five allocations), since every PAP request
// hashes the password given.
func ntHash(password string) []byte {
	var buf [256]byte
	u := buf[:0]
	for _, r := range password {
		if r <= 0xffff {
			u = append(u, byte(r), byte(r>>8))
			continue
		}
		r1, r2 := utf16.EncodeRune(r)
		u = append(u, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
	}
	return rfc2759.NTPasswordHash(u)
}

var errMSCHAP = errors.New("radius: malformed MS-CHAPv2 attributes")

// mschapv2 is one MS-CHAPv2 exchange (RFC 2548 2.3.2).
type mschapv2 struct {
	ident         byte
	authChallenge []byte // MS-CHAP-Challenge, 16 bytes
	peerChallenge []byte
	ntResponse    []byte
	username      []byte // as the peer hashed it: without the domain
	// challengeHash is ChallengeHash (RFC 2759 8.2) of the above, which
	// the response and the authenticator response both use.
	challengeHash []byte
}

func parseMSCHAPv2(challenge, response []byte, username string) (mschapv2, error) {
	if len(challenge) != 16 || len(response) != 50 {
		return mschapv2{}, errMSCHAP
	}
	m := mschapv2{
		ident:         response[0],
		authChallenge: challenge,
		peerChallenge: response[2:18],
		ntResponse:    response[26:50],
		username:      []byte(username),
	}
	m.challengeHash = rfc2759.ChallengeHash(m.peerChallenge, m.authChallenge, m.username)
	return m, nil
}

// verify checks the peer's NT-Response against the NT hash.
func (m mschapv2) verify(r *ntResponder) bool {
	return r.matches(m.challengeHash, m.ntResponse)
}

// ntResponder makes the NT-Response of one NT hash to a challenge
// (ChallengeResponse, RFC 2759 8.5): three DES encryptions under keys cut
// from the hash, their key schedules made once for an account rather than
// for every request.
type ntResponder [3]cipher.Block

// newNTResponder is the responder of a 16-byte NT hash (nil for any
// other).
func newNTResponder(hash []byte) *ntResponder {
	if len(hash) != 16 {
		return nil
	}
	var z [21]byte
	copy(z[:], hash)
	var r ntResponder
	for i := range r {
		c, err := des.NewCipher(desKey(z[7*i : 7*i+7]))
		if err != nil {
			return nil // a DES key is 8 bytes, as desKey makes it
		}
		r[i] = c
	}
	return &r
}

// matches says, in constant time, whether response is the NT-Response to
// the 8-byte challenge; a nil responder matches nothing.
func (r *ntResponder) matches(challenge, response []byte) bool {
	if r == nil || len(challenge) != 8 || len(response) != 24 {
		return false
	}
	var want [24]byte
	for i, c := range r {
		c.Encrypt(want[8*i:8*i+8], challenge)
	}
	return subtle.ConstantTimeCompare(want[:], response) == 1
}

// desKey spreads 7 bytes over the 8 of a DES key, the low bit of each
// byte set for odd parity (as rfc2759 does).
func desKey(in []byte) []byte {
	var v uint64
	for _, b := range in {
		v = v<<8 | uint64(b)
	}
	out := make([]byte, 8)
	for i := range out {
		out[i] = byte(v>>(7*(7-i))) << 1
		if bits.OnesCount8(out[i])%2 == 0 {
			out[i] |= 1
		}
	}
	return out
}

var (
	magic1 = []byte("Magic server to client signing constant")
	magic2 = []byte("Pad to make it do more than one iteration")
)

// success is the MS-CHAP2-Success value: the Ident and the authenticator
// response "S=<40 hex digits>" (RFC 2759 8.7) that proves to the peer that
// the server knew the password too. hashHash is the hash of the NT hash.
func (m mschapv2) success(hashHash []byte) []byte {
	h := sha1.New()
	h.Write(hashHash)
	h.Write(m.ntResponse)
	h.Write(magic1)
	var digest [sha1.Size]byte
	h.Sum(digest[:0])
	h.Reset()
	h.Write(digest[:])
	h.Write(m.challengeHash)
	h.Write(magic2)
	h.Sum(digest[:0])
	out := make([]byte, 3, 3+2*sha1.Size)
	out[0], out[1], out[2] = m.ident, 'S', '='
	const upperHex = "0123456789ABCDEF"
	for _, c := range digest {
		out = append(out, upperHex[c>>4], upperHex[c&0xf])
	}
	return out
}

// mppeKeys are the 16-byte MPPE send and receive keys of RFC 3079 3.4
// (the server's send key is the client's receive key). hashHash is the
// hash of the NT hash.
func (m mschapv2) mppeKeys(hashHash []byte) (send, recv []byte, err error) {
	master := rfc3079.GetMasterKey(hashHash, m.ntResponse)
	if send, err = rfc3079.GetAsymmetricStartKey(master, rfc3079.KeyLength128Bit, true); err != nil {
		return nil, nil, err
	}
	if recv, err = rfc3079.GetAsymmetricStartKey(master, rfc3079.KeyLength128Bit, false); err != nil {
		return nil, nil, err
	}
	return send, recv, nil
}

// mschapv1 is an MS-CHAP (version 1) exchange, which radtest -t mschap and
// some old NASes and VPN concentrators send (RFC 2433, RFC 2548 2.1.3): an
// 8-byte challenge and a 24-byte NT-Response. Its accept carries
// MS-CHAP-MPPE-Keys (mschapv1Keys) for a NAS that encrypts the link.
type mschapv1 struct {
	challenge  []byte
	ntResponse []byte
}

func parseMSCHAPv1(challenge, response []byte) (mschapv1, error) {
	if len(challenge) != 8 || len(response) != 50 || response[1]&1 == 0 {
		// Flags bit 0 clear means an LM-Response only, which Keystage
		// refuses: the LAN Manager hash is not kept.
		return mschapv1{}, errMSCHAP
	}
	return mschapv1{challenge: challenge, ntResponse: response[26:50]}, nil
}

func (m mschapv1) verify(r *ntResponder) bool {
	return r.matches(m.challenge, m.ntResponse)
}

// mschapv1Keys is the value of MS-CHAP-MPPE-Keys for an MS-CHAPv1 accept
// (RFC 2548 2.4.1, RFC 3079 2): the LM-Key, zero because the LAN Manager
// hash is never kept, then the NT-Key, the hash of the NT hash. Layeh
// encrypts it with the shared secret as the RFC asks.
func mschapv1Keys(hashHash []byte) []byte {
	return append(make([]byte, 8), hashHash...)
}

// MS-CHAP error codes (RFC 2759 6, the Windows error numbers NASes show).
const (
	mschapErrRestricted = 646 // ERROR_RESTRICTED_LOGON_HOURS
	mschapErrDisabled   = 647 // ERROR_ACCOUNT_DISABLED
	mschapErrExpired    = 648 // ERROR_PASSWD_EXPIRED
	mschapErrNoDialin   = 649 // ERROR_NO_DIALIN_PERMISSION
	mschapErrAuth       = 691 // ERROR_AUTHENTICATION_FAILURE
)

// mschapErrorCode is the MS-CHAP error of a refusal.
func mschapErrorCode(v *verdict) int {
	switch v.reason {
	case directory.ReasonNone:
		return mschapErrAuth
	case directory.ReasonDisabled, directory.ReasonLeft, directory.ReasonSuspended, directory.ReasonLockedOut:
		return mschapErrDisabled
	case directory.ReasonNotStarted:
		return mschapErrRestricted
	case directory.ReasonMustChange, directory.ReasonCredentialEnded:
		return mschapErrExpired
	}
	return mschapErrNoDialin
}

// addMSCHAPError adds MS-CHAP-Error to the Access-Reject of an MS-CHAP or
// MS-CHAPv2 request, which a NAS or VPN concentrator that speaks MS-CHAP
// to the client passes on (RFC 2548 2.1.5): "E=691 R=0" for v1, and for
// v2 also a new challenge, the version and the reason in words (RFC 2759
// 6): "E=691 R=0 C=<32 hex digits> V=3 M=...". R=0: retrying with the
// same password will not help.
func addMSCHAPError(req, resp *layeh.Packet, v *verdict) {
	if resp == nil || resp.Code != layeh.CodeAccessReject {
		return
	}
	code := mschapErrorCode(v)
	if r, err := microsoft.MSCHAP2Response_Lookup(req); err == nil && len(r) > 0 {
		c := make([]byte, 16)
		rand.Read(c)
		msg := "Wrong username or Wi-Fi password"
		if v.reason != directory.ReasonNone {
			msg = "Access refused: " + string(v.reason)
		}
		microsoft.MSCHAPError_Add(resp, fmt.Appendf([]byte{r[0]}, "E=%d R=0 C=%s V=3 M=%s", code, strings.ToUpper(hex.EncodeToString(c)), msg))
		return
	}
	if r, err := microsoft.MSCHAPResponse_Lookup(req); err == nil && len(r) > 0 {
		microsoft.MSCHAPError_Add(resp, fmt.Appendf([]byte{r[0]}, "E=%d R=0", code))
	}
}
