package eap

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

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
		res, err := s.Handle(ctx, state, msg)
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
