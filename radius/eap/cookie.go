package eap

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// The first round trip of a conversation keeps no state on the server, as
// TCP's SYN cookies and IKEv2's cookies do: the answer to EAP-Identity (the
// method's Start) carries in State what the server needs to go on,
// authenticated with a key of this process. Only a peer that answers it,
// from the same NAS and device, gets a conversation stored. An
// EAP-Identity costs nothing to send, so a flood of them must cost the
// server nothing to hold.
//
// The cookie is
//
//	version(1) nonce(8) issued(4, Unix seconds) method(1) id(1) len(1) outer(len) mac(16)
//
// where mac is HMAC-SHA256 over the rest and the origin, truncated. The
// nonce tells apart two sign-ins that are otherwise alike (the same device
// starting again within a second). The outer identity (at most
// maxCookieOuter bytes of it) rides along for the logs only.
const (
	cookieVersion  = 0xC1
	cookieMACLen   = 16
	cookieHead     = 1 + 8 + 4 + 3
	maxCookieOuter = 64
	// cookieTTL bounds the wait for a peer's answer to the Start: nothing
	// is asked of the person before it (a certificate prompt comes later).
	cookieTTL = 30 * time.Second
)

// cookieFields is what a cookie carries.
type cookieFields struct {
	issued time.Time
	method Method
	id     uint8 // the identifier of the Start request
	outer  string
}

func (s *Server) cookieMAC(body []byte, from Origin) []byte {
	m := hmac.New(sha256.New, s.cookieKey[:])
	m.Write(body)
	m.Write([]byte{0})
	m.Write([]byte(from.NAS))
	m.Write([]byte{0})
	m.Write([]byte(from.Station))
	return m.Sum(nil)[:cookieMACLen]
}

// makeCookie returns the State for a Start sent to from.
func (s *Server) makeCookie(from Origin, f cookieFields) []byte {
	outer := f.outer
	if len(outer) > maxCookieOuter {
		outer = outer[:maxCookieOuter]
	}
	b := make([]byte, cookieHead-4-3, cookieHead+len(outer)+cookieMACLen)
	b[0] = cookieVersion
	rand.Read(b[1:])
	b = binary.BigEndian.AppendUint32(b, uint32(f.issued.Unix()))
	b = append(b, uint8(f.method), f.id, uint8(len(outer)))
	b = append(b, outer...)
	return append(b, s.cookieMAC(b, from)...)
}

// openCookie checks a State that names no stored conversation: a cookie
// this process made, for this origin, not yet expired.
func (s *Server) openCookie(state []byte, from Origin, now time.Time) (cookieFields, bool) {
	if len(state) < cookieHead+cookieMACLen || state[0] != cookieVersion {
		return cookieFields{}, false
	}
	body, mac := state[:len(state)-cookieMACLen], state[len(state)-cookieMACLen:]
	n := int(body[cookieHead-1])
	if len(body) != cookieHead+n || !hmac.Equal(mac, s.cookieMAC(body, from)) {
		return cookieFields{}, false
	}
	f := cookieFields{
		issued: time.Unix(int64(binary.BigEndian.Uint32(body[9:13])), 0),
		method: Method(body[13]),
		id:     body[14],
		outer:  string(body[cookieHead:]),
	}
	age := now.Sub(f.issued)
	if age < -time.Second || age > min(cookieTTL, s.cfg.ConversationTTL) {
		return cookieFields{}, false
	}
	return f, true
}
