package eap

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"keystage.dev/keystage/radius/eap/eaptest"
	"keystage.dev/keystage/radius/eap/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeBackend is a directory of Wi-Fi credentials with a gate.
type fakeBackend struct {
	mu     sync.Mutex
	users  map[string]Secret
	refuse map[string]string
	failed []string
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		users: map[string]Secret{
			"alice": {Password: "correct horse battery"},
			"bob":   {Password: "Tr0ub4dor&3"},
		},
		refuse: map[string]string{"bob": "Your account is suspended until Friday: see the safeguarding lead."},
	}
}

func (b *fakeBackend) WiFiSecret(ctx context.Context, username string) (Secret, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.users[username]
	if !ok {
		return Secret{}, ErrUnknownUser
	}
	return s, nil
}

func (b *fakeBackend) Authorize(ctx context.Context, username string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.refuse[username]; ok {
		return errors.New(r)
	}
	return nil
}

func (b *fakeBackend) Failed(ctx context.Context, username string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failed = append(b.failed, username)
}

func (b *fakeBackend) failures() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.failed)
}

type fixture struct {
	pki     testPKI
	backend *fakeBackend
	srv     *Server
	client  *tls.Config
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	pki := newTestPKI(t)
	cfg := Config{Certificates: []tls.Certificate{pki.cert}}
	if mod != nil {
		mod(&cfg)
	}
	b := newFakeBackend()
	srv, err := New(cfg, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &fixture{
		pki:     pki,
		backend: b,
		srv:     srv,
		client: &tls.Config{
			RootCAs:            pki.pool,
			ServerName:         testServerName,
			MaxVersion:         tls.VersionTLS12,
			ClientSessionCache: tls.NewLRUClientSessionCache(8),
		},
	}
}

func (f *fixture) peer(method uint8, inner, user, password string) *eaptest.Peer {
	return &eaptest.Peer{
		Identity: "anonymous@school.test",
		Username: user,
		Password: password,
		Method:   method,
		Inner:    inner,
		TLS:      f.client,
	}
}

// authenticate runs one conversation the way the RADIUS server and the NAS
// would carry it.
func authenticate(ctx context.Context, s *Server, p *eaptest.Peer) (Result, int, error) {
	defer p.Close()
	msg := p.IdentityResponse(7)
	var state []byte
	for round := 1; round < 1000; round++ {
		res, err := s.Handle(ctx, Origin{}, state, msg)
		if err != nil {
			return res, round, err
		}
		if res.Outcome != Challenge {
			_, perr := p.Respond(ctx, res.EAPMessage)
			return res, round, perr
		}
		if len(res.EAPMessage) > 4096 {
			return res, round, fmt.Errorf("EAP request of %d bytes", len(res.EAPMessage))
		}
		state = res.State
		if msg, err = p.Respond(ctx, res.EAPMessage); err != nil {
			return res, round, err
		}
	}
	return Result{}, 1000, errors.New("conversation did not end")
}

func TestAccept(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method uint8
		inner  string
		label  string
	}{
		{"PEAP-MSCHAPv2", wire.TypePEAP, "mschapv2", "client EAP encryption"},
		{"TTLS-PAP", wire.TypeTTLS, "pap", "ttls keying material"},
		{"TTLS-MSCHAPv2", wire.TypeTTLS, "mschapv2", "ttls keying material"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			p := f.peer(tc.method, tc.inner, "alice", "correct horse battery")
			res, rounds, err := authenticate(t.Context(), f.srv, p)
			if err != nil {
				t.Fatalf("round %d: %v (reason %q)", rounds, err, res.Reason)
			}
			if res.Outcome != Accept || !p.Succeeded() {
				t.Fatalf("outcome %v, peer succeeded %v, reason %q", res.Outcome, p.Succeeded(), res.Reason)
			}
			if res.Username != "alice" || res.Method != Method(tc.method) {
				t.Errorf("username %q method %v", res.Username, res.Method)
			}
			if len(res.MSK) != 64 || !bytes.Equal(res.MSK, p.MSK) {
				t.Fatalf("MSK mismatch:\nserver % x\npeer   % x", res.MSK, p.MSK)
			}
			if f.srv.Conversations() != 0 {
				t.Errorf("%d conversations left", f.srv.Conversations())
			}
			t.Logf("%s: %d round trips", tc.name, rounds)
		})
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, user, password, inner string
		method                      uint8
		reason                      string
		failed                      bool
	}{
		{"PEAP wrong password", "alice", "nope", "mschapv2", wire.TypePEAP, "Wrong username or Wi-Fi password", true},
		{"PEAP unknown user", "mallory", "nope", "mschapv2", wire.TypePEAP, "Wrong username or Wi-Fi password", true},
		{"PEAP suspended", "bob", "Tr0ub4dor&3", "mschapv2", wire.TypePEAP, "suspended until Friday", false},
		{"TTLS-PAP wrong password", "alice", "nope", "pap", wire.TypeTTLS, "Wrong username or Wi-Fi password", true},
		{"TTLS-PAP suspended", "bob", "Tr0ub4dor&3", "pap", wire.TypeTTLS, "suspended until Friday", false},
		{"TTLS-MSCHAPv2 wrong password", "alice", "nope", "mschapv2", wire.TypeTTLS, "Wrong username or Wi-Fi password", true},
		{"TTLS-MSCHAPv2 suspended", "bob", "Tr0ub4dor&3", "mschapv2", wire.TypeTTLS, "suspended until Friday", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			p := f.peer(tc.method, tc.inner, tc.user, tc.password)
			res, _, err := authenticate(t.Context(), f.srv, p)
			if !errors.Is(err, eaptest.ErrFailure) {
				t.Fatalf("peer: %v", err)
			}
			if res.Outcome != Reject || res.MSK != nil || res.Username != tc.user {
				t.Fatalf("result %+v", res)
			}
			if !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("reason %q, want %q", res.Reason, tc.reason)
			}
			if got := f.backend.failures(); tc.failed != slices.Equal(got, []string{tc.user}) {
				t.Errorf("Failed told of %v", got)
			}
			if f.srv.Conversations() != 0 {
				t.Errorf("%d conversations left", f.srv.Conversations())
			}
		})
	}
}

func TestDomainPrefixAndNTHash(t *testing.T) {
	f := newFixture(t, nil)
	// The directory may hold only the NT hash.
	f.backend.users["carol"] = Secret{NTHash: Secret{Password: "s3cret wifi"}.ntHash()}
	p := f.peer(wire.TypePEAP, "mschapv2", `SCHOOL\carol`, "s3cret wifi")
	res, _, err := authenticate(t.Context(), f.srv, p)
	if err != nil || res.Outcome != Accept || res.Username != "carol" {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestFragments(t *testing.T) {
	for _, size := range []int{64, 100, 333} {
		for _, m := range []uint8{wire.TypePEAP, wire.TypeTTLS} {
			t.Run(fmt.Sprintf("%d/%d", m, size), func(t *testing.T) {
				f := newFixture(t, func(c *Config) { c.FragmentSize = size })
				p := f.peer(m, "mschapv2", "alice", "correct horse battery")
				p.FragmentSize = size // the ClientHello arrives in pieces too
				res, rounds, err := authenticate(t.Context(), f.srv, p)
				if err != nil || res.Outcome != Accept || !bytes.Equal(res.MSK, p.MSK) {
					t.Fatalf("%v %+v", err, res)
				}
				if size <= 100 && rounds < 10 {
					t.Errorf("only %d rounds with %d-byte fragments", rounds, size)
				}
			})
		}
	}
}

func TestNakToTTLS(t *testing.T) {
	f := newFixture(t, nil) // offers PEAP first
	p := f.peer(wire.TypeTTLS, "pap", "alice", "correct horse battery")
	res, _, err := authenticate(t.Context(), f.srv, p)
	if err != nil || res.Outcome != Accept || res.Method != TTLS {
		t.Fatalf("%v %+v", err, res)
	}

	f = newFixture(t, func(c *Config) { c.Methods = []Method{PEAP} })
	p = f.peer(wire.TypeTTLS, "pap", "alice", "correct horse battery")
	res, _, err = authenticate(t.Context(), f.srv, p)
	if !errors.Is(err, eaptest.ErrFailure) || !strings.Contains(res.Reason, "no EAP method in common") {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestResumption(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method uint8
		inner  string
	}{
		{"PEAP-MSCHAPv2", wire.TypePEAP, "mschapv2"},
		{"TTLS-PAP", wire.TypeTTLS, "pap"},
		{"TTLS-MSCHAPv2", wire.TypeTTLS, "mschapv2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			var msks [][]byte
			for i := range 3 {
				p := f.peer(tc.method, tc.inner, "alice", "correct horse battery")
				res, _, err := authenticate(t.Context(), f.srv, p)
				if err != nil || res.Outcome != Accept || !bytes.Equal(res.MSK, p.MSK) {
					t.Fatalf("auth %d: %v %+v", i, err, res)
				}
				if res.Resumed != (i > 0) || p.Resumed != res.Resumed {
					t.Fatalf("auth %d: resumed server %v peer %v", i, res.Resumed, p.Resumed)
				}
				msks = append(msks, res.MSK)
			}
			if bytes.Equal(msks[0], msks[1]) || bytes.Equal(msks[1], msks[2]) {
				t.Error("a resumed session reused an MSK")
			}
			// The gate is asked again on resumption.
			f.backend.refuse["alice"] = "You have left the school."
			p := f.peer(tc.method, tc.inner, "alice", "correct horse battery")
			res, _, _ := authenticate(t.Context(), f.srv, p)
			if res.Outcome != Reject || res.Reason != "You have left the school." || !p.Resumed {
				t.Fatalf("leaver resumed: %+v", res)
			}
		})
	}
}

func TestSharedTicketKeys(t *testing.T) {
	key := [32]byte{1, 2, 3}
	f := newFixture(t, func(c *Config) { c.SessionTicketKeys = [][32]byte{key} })
	p := f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
	if res, _, err := authenticate(t.Context(), f.srv, p); err != nil || res.Outcome != Accept {
		t.Fatal(err, res)
	}
	// A second node with the same key and certificate resumes the session.
	other, err := New(Config{Certificates: f.srv.cfg.Certificates, SessionTicketKeys: [][32]byte{key}}, f.backend, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	p = f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
	res, _, err := authenticate(t.Context(), other, p)
	if err != nil || res.Outcome != Accept || !res.Resumed {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestRetransmission(t *testing.T) {
	f := newFixture(t, nil)
	p := f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
	defer p.Close()
	ctx := t.Context()
	msg := p.IdentityResponse(1)
	var state []byte
	for {
		res, err := f.srv.Handle(ctx, Origin{}, state, msg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Challenge {
			if res.Outcome != Accept {
				t.Fatalf("%+v", res)
			}
			return
		}
		again, err := f.srv.Handle(ctx, Origin{}, state, msg)
		if err != nil || !bytes.Equal(again.EAPMessage, res.EAPMessage) {
			t.Fatalf("retransmission answered differently: %v", err)
		}
		state = res.State
		if msg, err = p.Respond(ctx, res.EAPMessage); err != nil {
			t.Fatal(err)
		}
		// A response with an earlier identifier is dropped.
		stale := bytes.Clone(msg)
		stale[1] -= 2
		if _, err := f.srv.Handle(ctx, Origin{}, state, stale); !errors.Is(err, ErrStale) {
			t.Fatalf("stale response: %v", err)
		}
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestAbandonedHandshakes leaves handshakes half done and checks that the
// store stays bounded, that expiry ends their goroutines and that the
// conversations are gone.
func TestAbandonedHandshakes(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	f := newFixture(t, func(c *Config) {
		c.MaxConversations = 5
		c.MaxConversationsPerNAS = 5
		c.ConversationTTL = time.Minute
		c.Now = clock.Now
	})
	before := goleak.IgnoreCurrent()
	ctx := t.Context()
	for i := range 5 {
		p := f.peer(wire.TypePEAP, "mschapv2", "alice", "x")
		res, err := f.srv.Handle(ctx, Origin{}, nil, p.IdentityResponse(1))
		if err != nil || res.Outcome != Challenge {
			t.Fatal(err, res)
		}
		hello, err := p.Respond(ctx, res.EAPMessage) // ClientHello
		if err != nil {
			t.Fatal(err)
		}
		if res, err = f.srv.Handle(ctx, Origin{}, res.State, hello); err != nil || res.Outcome != Challenge {
			t.Fatal(i, err, res)
		}
		p.Close() // the phone walks away
	}
	if n := f.srv.handshaking(); n != 5 {
		t.Fatalf("%d handshakes in flight, want 5", n)
	}
	// A sixth device's sign-in ends the oldest abandoned one rather than
	// being refused.
	p := f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
	if res, _, err := authenticate(ctx, f.srv, p); err != nil || res.Outcome != Accept {
		t.Fatalf("sixth conversation: %v %+v", err, res)
	}
	if n := f.srv.handshaking(); n != 4 {
		t.Fatalf("%d handshakes in flight, want 4 (the oldest ended to make room)", n)
	}
	clock.Add(61 * time.Second)
	f.srv.Sweep()
	if n := f.srv.Conversations(); n != 0 {
		t.Fatalf("%d conversations after expiry", n)
	}
	if n := f.srv.handshaking(); n != 0 {
		t.Fatalf("%d handshakes in flight after expiry", n)
	}
	goleak.VerifyNone(t, before)
	// And the server takes new conversations again.
	p = f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
	if res, _, err := authenticate(ctx, f.srv, p); err != nil || res.Outcome != Accept {
		t.Fatal(err, res)
	}
	// A late packet of an expired conversation is refused.
	res, err := f.srv.Handle(ctx, Origin{}, []byte("0123456789abcdef"), p.IdentityResponse(3))
	if err != nil || res.Outcome != Reject {
		t.Fatal(err, res)
	}
}

func TestConfig(t *testing.T) {
	_, err := New(Config{MaxTLSVersion: tls.VersionTLS13, FragmentSize: 10, Methods: []Method{5}}, newFakeBackend(), nil)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"certificate", "TLS 1.3", "fragment size", "method EAP type 5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestLegacyCiphers checks that a client with RSA key exchange only is
// refused by default and served with LegacyCiphers.
func TestLegacyCiphers(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprint(legacy), func(t *testing.T) {
			pki := newTestPKIKey(t, true)
			srv, err := New(Config{Certificates: []tls.Certificate{pki.cert}, LegacyCiphers: legacy}, newFakeBackend(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			f := &fixture{pki: pki, srv: srv, client: &tls.Config{
				RootCAs: pki.pool, ServerName: testServerName, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA},
			}}
			p := f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
			res, _, err := authenticate(t.Context(), srv, p)
			if legacy != (err == nil && res.Outcome == Accept && bytes.Equal(res.MSK, p.MSK)) {
				t.Fatalf("legacy %v: %v %+v", legacy, err, res)
			}
		})
	}
}

// handshaking counts the conversations whose handshake goroutine runs.
func (s *Server) handshaking() int {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	n := 0
	for e := s.store.order.Front(); e != nil; e = e.Next() {
		if t := e.Value.(*conversation).tun.Load(); t != nil && t.Handshaking() {
			n++
		}
	}
	return n
}
