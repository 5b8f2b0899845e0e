package eap

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"testing"
	"time"

	"keystage.dev/keystage/radius/eap/eaptest"
	"keystage.dev/keystage/radius/eap/wire"
)

// packets encodes EAP packets as a fuzz input: each with a two-byte length.
func packets(msgs [][]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

// recordConversation runs a real conversation and returns the peer's packets.
func recordConversation(t testing.TB, f *fixture, p *eaptest.Peer) [][]byte {
	defer p.Close()
	ctx := context.Background()
	msg := p.IdentityResponse(1)
	var msgs [][]byte
	var state []byte
	for range 100 {
		msgs = append(msgs, msg)
		res, err := f.srv.Handle(ctx, Origin{}, state, msg)
		if err != nil || res.Outcome != Challenge {
			return msgs
		}
		state = res.State
		if msg, err = p.Respond(ctx, res.EAPMessage); err != nil {
			return msgs
		}
	}
	return msgs
}

// FuzzHandle feeds arbitrary EAP packets into conversations. The first
// packet of each input starts a conversation; the rest are answered in it,
// with the identifier fixed up so that they reach the method code rather
// than the stale-response check. No input may panic, leak a goroutine or
// grow the store past its bound.
func FuzzHandle(f *testing.F) {
	fx := newFixture(f, func(c *Config) { c.FragmentSize = 200 })
	for _, p := range []*eaptest.Peer{
		fx.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery"),
		fx.peer(wire.TypeTTLS, "pap", "alice", "correct horse battery"),
		fx.peer(wire.TypeTTLS, "mschapv2", "alice", "wrong"),
	} {
		f.Add(packets(recordConversation(f, fx, p)))
	}
	f.Add(packets([][]byte{{2, 1, 0, 5, 1}, {2, 2, 0, 7, 3, 21, 25}}))
	f.Add(packets([][]byte{{2, 1, 0, 5, 1}, {2, 2, 0, 10, 25, 0xc0, 0xff, 0xff, 0xff, 0xff}}))

	cert := fx.pki.cert
	const maxConv = 4
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, err := New(Config{Certificates: []tls.Certificate{cert}, MaxConversations: maxConv, FragmentSize: 200}, newFakeBackend(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		ctx := context.Background()
		var state []byte
		var lastID uint8
		for len(data) >= 2 {
			n := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			if n > len(data) {
				n = len(data)
			}
			msg := append([]byte(nil), data[:n]...)
			data = data[n:]
			if state != nil && len(msg) >= 2 {
				msg[1] = lastID
			}
			res, err := srv.Handle(ctx, Origin{}, state, msg)
			if err != nil {
				continue
			}
			if srv.Conversations() > maxConv {
				t.Fatalf("%d conversations", srv.Conversations())
			}
			if len(res.EAPMessage) > 4096 {
				t.Fatalf("EAP message of %d bytes", len(res.EAPMessage))
			}
			switch res.Outcome {
			case Challenge:
				state = res.State
				lastID = res.EAPMessage[1]
			case Accept:
				if len(res.MSK) != 64 {
					t.Fatalf("accept without MSK")
				}
				state = nil
			default:
				state = nil
			}
		}
	})
}

// A State that names no conversation is opened as a cookie: whatever its
// bytes, it never panics, and only a cookie the server made for that origin
// opens.
func FuzzOpenCookie(f *testing.F) {
	pki := newTestPKI(f)
	srv, err := New(Config{Certificates: []tls.Certificate{pki.cert}}, newFakeBackend(), nil)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	from := Origin{NAS: "ap", Station: "aa-bb-cc-dd-ee-ff"}
	good := srv.makeCookie(from, cookieFields{issued: now, method: PEAP, id: 2, outer: "anonymous@school"})
	f.Add(good)
	f.Add([]byte{cookieVersion})
	f.Add(make([]byte, cookieHead+cookieMACLen))
	f.Fuzz(func(t *testing.T, state []byte) {
		fields, ok := srv.openCookie(state, from, now)
		if ok && !bytes.Equal(state, good) {
			t.Fatalf("a cookie the server did not make opened: %x %+v", state, fields)
		}
	})
}
