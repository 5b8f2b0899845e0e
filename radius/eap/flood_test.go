package eap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"keystage.dev/keystage/radius/eap/eaptest"
	"keystage.dev/keystage/radius/eap/wire"
)

// authenticateFrom runs one conversation from an origin, calling between
// after every packet the server answers (to interleave a flood).
func authenticateFrom(ctx context.Context, s *Server, from Origin, p *eaptest.Peer, between func()) (Result, error) {
	defer p.Close()
	msg := p.IdentityResponse(7)
	var state []byte
	for round := 1; round < 1000; round++ {
		res, err := s.Handle(ctx, from, state, msg)
		if err != nil {
			return res, err
		}
		if res.Outcome != Challenge {
			_, perr := p.Respond(ctx, res.EAPMessage)
			return res, perr
		}
		between()
		state = res.State
		if msg, err = p.Respond(ctx, res.EAPMessage); err != nil {
			return res, err
		}
	}
	return Result{}, errors.New("conversation did not end")
}

// floodIdentities sends n EAP-Identity responses, each starting a
// conversation, from the NAS with the stations station(i) gives.
func floodIdentities(t *testing.T, s *Server, nas string, n int, station func(i int) string) {
	t.Helper()
	p := &eaptest.Peer{Identity: "anonymous@flood"}
	msg := p.IdentityResponse(1)
	for i := range n {
		res, err := s.Handle(t.Context(), Origin{NAS: nas, Station: station(i)}, nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Challenge {
			t.Fatalf("flood identity %d: %v %q, want a challenge (room is made)", i, res.Outcome, res.Reason)
		}
	}
}

func inventedStation(i int) string {
	return fmt.Sprintf("02-00-%02x-%02x-%02x-%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

// A pupil's laptop behind one access point floods EAP-Identity with
// invented Calling-Station-Ids, twenty times the size of the table. An
// Identity costs the server nothing to hold, so nothing is stored, and a
// sign-in through the same access point, meeting flood packets between each
// of its own, gets in.
func TestIdentityFloodStoresNothing(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxConversations = 256 })
	const flood = 256 * 20
	floodIdentities(t, f.srv, "ap-corridor", flood, inventedStation)
	if n := f.srv.Conversations(); n != 0 {
		t.Fatalf("%d conversations stored after %d identities, want 0", n, flood)
	}
	n := 0
	more := func() {
		floodIdentities(t, f.srv, "ap-corridor", 512, func(int) string { n++; return inventedStation(flood + n) })
	}
	p := f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
	res, err := authenticateFrom(t.Context(), f.srv, Origin{NAS: "ap-corridor", Station: "aa-bb-cc-00-00-01"}, p, more)
	if err != nil || res.Outcome != Accept {
		t.Fatalf("sign-in during the flood: %v %+v", err, res)
	}
	if n := f.srv.Conversations(); n != 0 {
		t.Fatalf("%d conversations stored after the sign-in", n)
	}
}

// startHandshakes has n devices behind nas answer the Start with a
// ClientHello, which stores their conversations, and walk away.
func startHandshakes(t *testing.T, f *fixture, nas string, n int, station func(i int) string) {
	t.Helper()
	ctx := t.Context()
	for i := range n {
		p := f.peer(wire.TypePEAP, "mschapv2", "alice", "x")
		from := Origin{NAS: nas, Station: station(i)}
		res, err := f.srv.Handle(ctx, from, nil, p.IdentityResponse(1))
		if err != nil || res.Outcome != Challenge {
			t.Fatal(err, res)
		}
		hello, err := p.Respond(ctx, res.EAPMessage)
		if err != nil {
			t.Fatal(err)
		}
		if res, err = f.srv.Handle(ctx, from, res.State, hello); err != nil || res.Outcome != Challenge {
			t.Fatal(i, err, res)
		}
		p.Close()
	}
}

// An access point that answers its own challenges (compromised, or a pupil
// who can make the round trip for each invented device) holds at most its
// share of the table; people behind another access point sign in while it
// floods, and their conversations are not the ones ended to make room.
func TestOneNASHoldsItsShare(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxConversations = 64 })
	startHandshakes(t, f, "ap-rogue", 500, inventedStation)
	total, fromNAS, evicted := f.srv.store.stats("ap-rogue")
	if fromNAS > 32 || total > 64 {
		t.Fatalf("after 500 handshakes through one NAS: %d from it, %d in all; want at most 32 and 64", fromNAS, total)
	}
	if evicted < 500-32 {
		t.Fatalf("%d conversations ended early, want at least %d", evicted, 500-32)
	}
	n := 0
	more := func() {
		n++
		startHandshakes(t, f, "ap-rogue", 40, func(i int) string { return inventedStation(1000*n + i) })
	}
	p := f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
	res, err := authenticateFrom(t.Context(), f.srv, Origin{NAS: "ap-library", Station: "aa-bb-cc-00-00-01"}, p, more)
	if err != nil || res.Outcome != Accept {
		t.Fatalf("sign-in through another NAS during the flood: %v %+v", err, res)
	}
}

// One device that starts again and again holds at most its own bound, and
// a device beside it on the same access point is not affected.
func TestOneStationHoldsItsBound(t *testing.T) {
	f := newFixture(t, nil)
	startHandshakes(t, f, "ap-hall", 200, func(int) string { return "02-00-00-00-00-66" })
	if _, fromNAS, _ := f.srv.store.stats("ap-hall"); fromNAS != defaultMaxPerStation {
		t.Fatalf("one station holds %d conversations, want %d", fromNAS, defaultMaxPerStation)
	}
	more := func() { startHandshakes(t, f, "ap-hall", 10, func(int) string { return "02-00-00-00-00-66" }) }
	p := f.peer(wire.TypeTTLS, "pap", "alice", "correct horse battery")
	res, err := authenticateFrom(t.Context(), f.srv, Origin{NAS: "ap-hall", Station: "aa-bb-cc-00-00-02"}, p, more)
	if err != nil || res.Outcome != Accept {
		t.Fatalf("neighbour's sign-in: %v %+v", err, res)
	}
}

// The State of a Start is good only for the NAS and device it was sent to,
// unaltered, and for a while.
func TestCookieBoundToOrigin(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	f := newFixture(t, func(c *Config) { c.Now = clock.Now })
	ctx := t.Context()
	from := Origin{NAS: "ap-1", Station: "aa-bb-cc-00-00-01"}
	p := f.peer(wire.TypePEAP, "mschapv2", "alice", "x")
	defer p.Close()
	res, err := f.srv.Handle(ctx, from, nil, p.IdentityResponse(1))
	if err != nil || res.Outcome != Challenge {
		t.Fatal(err, res)
	}
	hello, err := p.Respond(ctx, res.EAPMessage)
	if err != nil {
		t.Fatal(err)
	}
	tampered := slices.Clone(res.State)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		from  Origin
		state []byte
		later time.Duration
	}{
		"another NAS":    {Origin{NAS: "ap-2", Station: from.Station}, res.State, 0},
		"another device": {Origin{NAS: from.NAS, Station: "aa-bb-cc-00-00-02"}, res.State, 0},
		"altered":        {from, tampered, 0},
		"too late":       {from, res.State, 31 * time.Second},
	} {
		clock.Add(tc.later)
		got, err := f.srv.Handle(ctx, tc.from, tc.state, hello)
		clock.Add(-tc.later)
		if err != nil || got.Outcome != Reject {
			t.Errorf("%s: %v %+v, want a refusal", name, err, got)
		}
	}
	if n := f.srv.Conversations(); n != 0 {
		t.Fatalf("%d conversations stored from refused cookies", n)
	}
	if got, err := f.srv.Handle(ctx, from, res.State, hello); err != nil || got.Outcome != Challenge {
		t.Fatalf("the right origin: %v %+v", err, got)
	}
}

func TestConversationBoundsConfig(t *testing.T) {
	pki := newTestPKI(t)
	for _, c := range []Config{
		{MaxConversations: 10, MaxConversationsPerNAS: 11},
		{MaxConversations: 10, MaxConversationsPerNAS: 4, MaxConversationsPerStation: 5},
		{MaxConversationsPerNAS: -1},
	} {
		c.Certificates = []tls.Certificate{pki.cert}
		if _, err := New(c, newFakeBackend(), nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
