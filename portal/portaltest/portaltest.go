// Package portaltest serves the portal on a loopback port over a seeded
// SQLite store, for tests of this and other packages. It serves
// https://localhost:PORT with a self-signed certificate (or plain
// http://localhost:PORT, which browsers also treat as a secure context) and
// stops when the test ends. It must not be used outside tests.
package portaltest

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/branding"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/pki"
	"keystage.dev/keystage/portal"
)

// The seeded people, with their passwords.
const (
	Pupil        = "26apupil" // year 7, consent given, AUP not signed
	Teacher      = "tteacher" // staff, staff AUP not signed
	Technician   = "ttech"    // in portal-technicians
	Safeguarding = "tsafe"    // in portal-safeguarding
	Auditor      = "taudit"   // in portal-auditors
	Password     = "Quiet-Maple-Lantern-58"
)

// Options change what Start builds.
type Options struct {
	// Plain serves http://localhost instead of https.
	Plain bool
	// PasskeyRoles are passed to the portal's configuration.
	PasskeyRoles []portal.StaffRole
	Services     portal.Services
	// ServicesFor, when set, makes the services over the directory that
	// Start seeds (the real exports, say); it replaces Services.
	ServicesFor func(d *directory.Directory) portal.Services
	Now         func() time.Time
	// FirstPasswords are passed to the portal's configuration.
	FirstPasswords portal.FirstPasswordSettings
	// TeachersSeeClasses is passed to the portal's configuration.
	TeachersSeeClasses bool
	// Proxy puts the portal behind a trusted reverse proxy on 127.0.0.1
	// that names the client in X-Forwarded-For.
	Proxy bool
	// PasswordDownstreams are passed to the directory: every password set
	// waits, sealed, for these downstream directories ("ad").
	PasswordDownstreams []string
	// IdleTimeout and SharedPC are passed to the portal's configuration.
	IdleTimeout time.Duration
	SharedPC    bool
	// Controls are the directory's approvers and rules for personal
	// devices.
	Controls directory.Controls
	// SchoolNames are a trust's schools' names, passed to the configuration.
	SchoolNames map[string]string
	// Branding is the trust's and the schools' logos and accent colours.
	Branding *branding.Set
}

// Server is a running portal.
type Server struct {
	URL       string
	Directory *directory.Directory
	Store     directory.Store
	Portal    *portal.Server
	HTTP      *httptest.Server
	// CertPEM is the server's certificate (https only).
	CertPEM []byte
	// Accounts are the seeded accounts by username.
	Accounts map[string]directory.Account
}

// Start seeds a store and serves the portal until the test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := sha256.Sum256([]byte(t.Name()))
	ring, err := passwords.NewKeyring("test", map[string][]byte{"test": key[:]})
	if err != nil {
		t.Fatal(err)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	// Cheap argon2id parameters: tests hash many passwords.
	hasher := &passwords.Hasher{Params: passwords.Argon2Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}}
	d := directory.New(st, directory.Config{Hasher: hasher, Sealer: ring, Now: now, PasswordDownstreams: opt.PasswordDownstreams, Controls: opt.Controls})
	accounts, err := seed(ctx, d, now())
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	scheme := "https"
	if opt.Plain {
		scheme = "http"
	}
	url := scheme + "://localhost:" + port
	svc := opt.Services
	if opt.ServicesFor != nil {
		svc = opt.ServicesFor(d)
	}
	cfg := portal.Config{
		PublicURL:  url,
		SchoolName: "Test School",
		WiFi:       portal.WiFiSettings{SSID: "TestSchool", EAPMethods: []string{"PEAP/MSCHAPv2", "TTLS/PAP"}, ServerDomain: "radius.test.example"},
		RoleGroups: map[portal.StaffRole][]string{
			portal.RoleTechnician:   {"portal-technicians"},
			portal.RoleSafeguarding: {"portal-safeguarding"},
			portal.RoleAuditor:      {"portal-auditors"},
			// No one is seeded in it: tests that need the role add someone.
			portal.RoleDataProtection: {"portal-data-protection"},
		},
		PasskeyRoles:       opt.PasskeyRoles,
		FirstPasswords:     opt.FirstPasswords,
		TeachersSeeClasses: opt.TeachersSeeClasses,
		IdleTimeout:        opt.IdleTimeout,
		SharedPC:           opt.SharedPC,
		SchoolNames:        opt.SchoolNames,
		Branding:           opt.Branding,
	}
	if opt.Proxy {
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		cfg.ClientAddressHeader = "X-Forwarded-For"
	}
	p, err := portal.New(d.Store(), d, cfg, svc)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	hs := &httptest.Server{Listener: l, Config: &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}}
	s := &Server{URL: url, Directory: d, Store: st, Portal: p, HTTP: hs, Accounts: accounts}
	if opt.Plain {
		hs.Start()
	} else {
		certPEM, keyPEM, err := pki.SelfSignedPEM("localhost", "Keystage demo", []string{"localhost", "127.0.0.1"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		hs.StartTLS()
		s.CertPEM = certPEM
	}
	t.Cleanup(hs.Close)
	return s
}

// Client is an HTTP client with its own cookie jar that trusts the
// server's certificate and does not follow redirects, so tests see them.
func (s *Server) Client() *http.Client {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{}
	if s.CertPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(s.CertPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	// localhost must reach the listener on 127.0.0.1 whatever the resolver
	// prefers.
	addr := s.HTTP.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	return &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// AUPText are the seeded policies by audience.
var AUPText = map[string]string{
	"pupil":             "# Pupil AUP\n\nI will be kind online.\n\n<script>alert('raw HTML is dropped')</script>\n\n[a link](javascript:alert(1))",
	"staff":             "# Staff AUP\n\nI will keep my password secret.",
	"community":         "# Community AUP\n\nVisitors use the Wi-Fi for their visit.",
	"parent-permission": "# Parental permission\n\nI agree my child may use the network.",
}

func seed(ctx context.Context, d *directory.Directory, now time.Time) (map[string]directory.Account, error) {
	hash, err := d.Hasher().Hash(Password)
	if err != nil {
		return nil, err
	}
	people := []directory.Account{
		{Username: Pupil, Role: directory.RolePupil, GivenName: "Amara", FamilyName: "Pupil", YearGroup: "7", RegGroup: "7A"},
		{Username: Teacher, Role: directory.RoleStaff, GivenName: "Tom", FamilyName: "Teacher"},
		{Username: Technician, Role: directory.RoleStaff, GivenName: "Tess", FamilyName: "Technician"},
		{Username: Safeguarding, Role: directory.RoleStaff, GivenName: "Sam", FamilyName: "Safeguard"},
		{Username: Auditor, Role: directory.RoleStaff, GivenName: "Ada", FamilyName: "Auditor"},
	}
	groups := map[string]string{Technician: "portal-technicians", Safeguarding: "portal-safeguarding", Auditor: "portal-auditors"}
	out := map[string]directory.Account{}
	err = d.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		docs := map[string]directory.AUPDocument{}
		for aud, text := range AUPText {
			sum := sha256.Sum256([]byte(text))
			doc := directory.AUPDocument{Audience: aud, Version: "2026.1", Text: text, Digest: hex.EncodeToString(sum[:]), PublishedAt: now.Add(-48 * time.Hour)}
			if err := tx.AddAUPDocument(ctx, &doc); err != nil {
				return err
			}
			docs[aud] = doc
		}
		for _, g := range []string{"portal-technicians", "portal-safeguarding", "portal-auditors", "portal-data-protection", "guests"} {
			grp := directory.Group{Name: g, Kind: directory.GroupCustom, Source: directory.SourceManual}
			if err := tx.CreateGroup(ctx, &grp); err != nil {
				return err
			}
		}
		for _, a := range people {
			a.Source = directory.SourceManual
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: hash, CreatedAt: now}); err != nil {
				return err
			}
			if g, ok := groups[a.Username]; ok {
				grp, err := tx.GroupByName(ctx, g)
				if err != nil {
					return err
				}
				if err := tx.AddMember(ctx, grp.ID, a.ID); err != nil {
					return err
				}
			}
			if a.Role == directory.RoleStaff && a.Username != Teacher {
				doc := docs["staff"]
				if err := tx.AddSignature(ctx, &directory.Signature{AccountID: a.ID, DocumentID: doc.ID, Digest: doc.Digest,
					SignedAt: now.Add(-time.Hour), Method: directory.SignPaper, FormDate: now.Add(-24 * time.Hour), Witness: "Head", RecordedBy: "seed"}); err != nil {
					return err
				}
			}
			if a.Role == directory.RolePupil {
				if err := tx.AddConsent(ctx, &directory.Consent{AccountID: a.ID, DocumentID: docs["parent-permission"].ID, ParentName: "Pat Pupil",
					Relationship: "mother", GivenAt: now.Add(-24 * time.Hour), Method: directory.SignPaper, RecordedBy: "seed"}); err != nil {
					return err
				}
			}
			out[a.Username] = a
		}
		return tx.Record(ctx, &audit.Event{Time: now, Actor: "seed", Action: "test.seed", Target: "portaltest"})
	})
	return out, err
}
