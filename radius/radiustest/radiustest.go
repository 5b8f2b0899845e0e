// Package radiustest serves Keystage's RADIUS frontend on 127.0.0.1 port 0
// over a fresh SQLite store, for tests in this and other packages. The
// server stops when the test ends. It is for tests only: its keyring is
// made up per server and lives in memory.
package radiustest

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/radius"
)

// Secret is the shared secret of the NAS client that every test server
// knows: "test-nas", addresses 127.0.0.0/8.
const Secret = "testing-radius-secret"

// Options shape a test server. All are optional.
type Options struct {
	Config radius.Config
	Policy directory.GatePolicy
	Now    directory.Clock
	// Store, when set, is served instead of a fresh SQLite store.
	Store directory.Store
	// NoServe builds the server without listening (for the fuzz target).
	NoServe bool
	// Log receives the server's log (nil: discarded).
	Log *slog.Logger
	// Controls are the directory's approvers and rules for personal
	// devices (zero: none).
	Controls directory.Controls
}

// Server is a running RADIUS frontend.
type Server struct {
	Auth, Acct string // host:port to send to
	Store      directory.Store
	Directory  *directory.Directory
	Radius     *radius.Server
	Keyring    *passwords.Keyring
}

// New starts a server. It seeds the NAS client "test-nas".
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx := context.Background()
	st := opts.Store
	if st == nil {
		s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "keystage.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		st = s
	}
	kr := newKeyring()
	d := directory.New(st, directory.Config{Policy: opts.Policy, Sealer: kr, Now: opts.Now, Log: opts.Log, Controls: opts.Controls})
	sealed, err := kr.Seal([]byte(Secret), []byte(directory.SealNAS))
	if err != nil {
		t.Fatal(err)
	}
	nas := directory.NASClient{Name: "test-nas", Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Secret: sealed, KeyID: kr.CurrentID(), Vendor: "generic"}
	if err := st.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.PutNASClient(ctx, &nas); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: d.Now(), Actor: "test", Action: audit.ActionNASAdd, Target: "nas:test-nas"})
	}); err != nil {
		t.Fatal(err)
	}
	srv, err := radius.New(ctx, d.Store(), d, d, opts.Config)
	d.OnAccessEnded(srv.AccessEnded)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Store: st, Directory: d, Radius: srv, Keyring: kr}
	if opts.NoServe {
		return s
	}
	auth, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Auth, s.Acct = auth.LocalAddr().String(), acct.LocalAddr().String()
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, auth, acct) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("radius serve: %v", err)
		}
	})
	return s
}

// User describes an account to add.
type User struct {
	Username string
	Role     directory.Role // default staff
	WiFi     string         // the Wi-Fi credential; empty: none issued
	Groups   []string       // created when missing
}

// AddUser creates an active account with its Wi-Fi credential and, for a
// pupil, parental consent, so that the gate allows it.
func (s *Server) AddUser(t testing.TB, u User) directory.Account {
	t.Helper()
	ctx := context.Background()
	if u.Role == "" {
		u.Role = directory.RoleStaff
	}
	a := directory.Account{Username: u.Username, Role: u.Role, Source: directory.SourceManual, Status: directory.StatusActive,
		GivenName: "Test", FamilyName: u.Username}
	err := s.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		if u.WiFi != "" {
			sealed, err := s.Keyring.Seal([]byte(u.WiFi), []byte(directory.SealWiFi))
			if err != nil {
				return err
			}
			if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredWiFi, Secret: sealed,
				KeyID: s.Keyring.CurrentID(), CreatedAt: s.Directory.Now().Add(-time.Hour)}); err != nil {
				return err
			}
		}
		if u.Role == directory.RolePupil {
			if err := tx.AddConsent(ctx, &directory.Consent{AccountID: a.ID, ParentName: "Parent", GivenAt: s.Directory.Now().Add(-time.Hour),
				Method: directory.SignPaper}); err != nil {
				return err
			}
		}
		for _, name := range u.Groups {
			g, err := tx.GroupByName(ctx, name)
			if errors.Is(err, directory.ErrNotFound) {
				g = directory.Group{Name: name, Kind: directory.GroupCustom, Source: directory.SourceManual}
				err = tx.CreateGroup(ctx, &g)
			}
			if err != nil {
				return err
			}
			if err := tx.AddMember(ctx, g.ID, a.ID); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Time: s.Directory.Now(), Actor: "test", Action: audit.ActionAccountCreate, Target: audit.AccountTarget(a.Username)})
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newKeyring() *passwords.Keyring {
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := passwords.NewKeyring("test", map[string][]byte{"test": key})
	if err != nil {
		panic(err) // a 32-byte key and a valid id cannot fail
	}
	return kr
}
