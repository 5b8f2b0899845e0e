// Package ldaptest serves Keystage's LDAP frontend on 127.0.0.1 port 0
// over a fresh, seeded SQLite store, for tests in this and other
// packages; it stops in t.Cleanup. It is for tests only: its passwords are
// printed in its source.
package ldaptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	ldapserver "keystage.dev/keystage/ldapserver"
	"keystage.dev/keystage/lifecycle/schoolgen"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/pki"
)

// The seeded accounts and their passwords.
const (
	Base   = "dc=school,dc=example"
	Domain = "school.example"

	Teacher         = "jteacher" // staff, in group staff
	TeacherPassword = "Kestrel-Harbour-47"
	Pupil           = "apupil" // pupil in year 7, groups pupils, year-7, 7a
	PupilPassword   = "Maple-Comet-52"
	Service         = "nss" // service account granted people and groups
	ServicePassword = "Service-Reads-All-91"
	Leaver          = "gleaver" // staff, disabled by the leaver job
	Suspended       = "ssuspended"
	Unsigned        = "uunsigned" // staff who has not signed the staff AUP
	// OtherPassword is the password of Leaver, Suspended and Unsigned.
	OtherPassword = "Quiet-River-Stone-3"
)

// Options change what Start serves.
type Options struct {
	// People adds that many generated people (schoolgen.Large) with
	// PupilPassword, for paging and enumeration tests.
	People int
	// Config edits the server configuration before it starts.
	Config func(*ldapserver.Config)
	// Now is the directory's clock (default time.Now).
	Now directory.Clock
	// Observer is told of every request answered (directory.Observer).
	Observer func(directory.Outcome)
	// Hasher replaces the cheap Hasher, for a test of what real hashes
	// cost.
	Hasher *passwords.Hasher
}

// Server is a running LDAP frontend.
type Server struct {
	URL      string // ldap://127.0.0.1:PORT
	LDAPSURL string // ldaps://127.0.0.1:PORT
	Addr     string
	TLSAddr  string
	// CAFile is the PEM file of the server's self-signed certificate
	// (LDAPTLS_CACERT for ldap-utils).
	CAFile string
	Roots  *x509.CertPool
	Dir    *directory.Directory
	Store  directory.Store
	Config ldapserver.Config
}

// Hasher is cheap on purpose: tests bind many times.
func Hasher() *passwords.Hasher {
	p := passwords.DefaultArgon2Params()
	p.Memory, p.Iterations, p.Parallelism = 1024, 1, 1
	return &passwords.Hasher{Params: p}
}

// Start seeds a store and serves it until the test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "keystage.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	h := opt.Hasher
	if h == nil {
		h = Hasher()
	}
	d := directory.New(st, directory.Config{
		Hasher:   h,
		Lockout:  directory.Lockout{Threshold: 5, Window: 15 * time.Minute, Base: time.Minute, Max: 15 * time.Minute},
		Now:      now,
		Observer: opt.Observer,
	})
	Seed(t, d, opt.People)

	certPEM, keyPEM, err := pki.SelfSignedPEM("Keystage LDAP (self-signed)", "", []string{"127.0.0.1", "localhost"}, now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)

	cfg := ldapserver.Config{
		BaseDN: Base, Domain: Domain,
		TLS:    &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Grants: map[string]ldapserver.Grant{Service: {People: true, Groups: true}},
	}
	if opt.Config != nil {
		opt.Config(&cfg)
	}
	srv, err := ldapserver.New(d.Store(), d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { srv.Serve(sctx, ln); done <- struct{}{} }()
	go func() { srv.ServeTLS(sctx, tln); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
	})
	return &Server{
		URL: "ldap://" + ln.Addr().String(), LDAPSURL: "ldaps://" + tln.Addr().String(),
		Addr: ln.Addr().String(), TLSAddr: tln.Addr().String(),
		CAFile: caFile, Roots: roots, Dir: d, Store: st, Config: cfg,
	}
}

// Seed stores the named accounts above (and n generated people) in d.
func Seed(t testing.TB, d *directory.Directory, n int) {
	t.Helper()
	ctx := context.Background()
	h := d.Hasher()
	hash := func(pw string) string {
		s, err := h.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	other := hash(OtherPassword)
	pupilHash := hash(PupilPassword)
	type seed struct {
		a      directory.Account
		hash   string
		groups []string
	}
	now := d.Now()
	seeds := []seed{
		{directory.Account{Username: Teacher, Role: directory.RoleStaff, GivenName: "Jane", FamilyName: "Teacher", Email: "j.teacher@school.example"}, hash(TeacherPassword), []string{"staff"}},
		{directory.Account{Username: Pupil, Role: directory.RolePupil, GivenName: "Amir", FamilyName: "Pupil", YearGroup: "7", RegGroup: "7A"}, pupilHash, []string{"pupils", "year-7", "7a"}},
		{directory.Account{Username: Service, Role: directory.RoleService, DisplayName: "nslcd and SSSD lookups"}, hash(ServicePassword), nil},
		{directory.Account{Username: Leaver, Role: directory.RoleStaff, GivenName: "Gareth", FamilyName: "Leaver", Status: directory.StatusDisabled,
			LeaveDate: now.AddDate(0, 0, -10), DisabledAt: now.AddDate(0, 0, -9), DisableReason: "left"}, other, []string{"staff"}},
		{directory.Account{Username: Suspended, Role: directory.RoleStaff, GivenName: "Sam", FamilyName: "Suspended"}, other, []string{"staff"}},
		{directory.Account{Username: Unsigned, Role: directory.RoleStaff, GivenName: "Uma", FamilyName: "Unsigned"}, other, []string{"staff"}},
	}
	err := d.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		groups := map[string]int64{}
		for _, s := range seeds {
			a := s.a
			a.Source = directory.SourceManual
			if a.Status == "" {
				a.Status = directory.StatusActive
			}
			if err := tx.CreateAccount(ctx, &a); err != nil {
				return err
			}
			if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: s.hash, CreatedAt: now}); err != nil {
				return err
			}
			for _, g := range s.groups {
				id, ok := groups[g]
				if !ok {
					grp := directory.Group{Name: g, Kind: directory.GroupCustom, Source: directory.SourceManual, Description: "Group " + g}
					if err := tx.CreateGroup(ctx, &grp); err != nil {
						return err
					}
					id = grp.ID
					groups[g] = id
				}
				if err := tx.AddMember(ctx, id, a.ID); err != nil {
					return err
				}
			}
			if a.Username == Suspended {
				if err := tx.AddSuspension(ctx, &directory.Suspension{AccountID: a.ID, From: now.Add(-time.Hour), Until: now.Add(72 * time.Hour), Reason: "test", CreatedBy: "test"}); err != nil {
					return err
				}
			}
		}
		// The staff AUP, signed by everyone on staff but Unsigned; pupils
		// have consent and their AUP signed.
		docs := map[string]directory.AUPDocument{}
		for _, aud := range []string{"staff", "pupil", "parent-permission"} {
			doc := directory.AUPDocument{Audience: aud, Version: "1", Text: "Be kind.", Digest: aud, PublishedAt: now.Add(-48 * time.Hour)}
			if err := tx.AddAUPDocument(ctx, &doc); err != nil {
				return err
			}
			docs[aud] = doc
		}
		for _, s := range seeds {
			if s.a.Username == Unsigned || s.a.Role == directory.RoleService {
				continue
			}
			a, err := tx.AccountByUsername(ctx, s.a.Username)
			if err != nil {
				return err
			}
			aud := "staff"
			if a.Role == directory.RolePupil {
				aud = "pupil"
				if err := tx.AddConsent(ctx, &directory.Consent{AccountID: a.ID, DocumentID: docs["parent-permission"].ID, ParentName: "A Parent", Relationship: "mother", GivenAt: now.Add(-24 * time.Hour), Method: directory.SignPaper, RecordedBy: "ldaptest"}); err != nil {
					return err
				}
			}
			if err := tx.AddSignature(ctx, &directory.Signature{AccountID: a.ID, DocumentID: docs[aud].ID, SignedAt: now.Add(-24 * time.Hour), Digest: docs[aud].Digest, Method: directory.SignPaper, RecordedBy: "ldaptest"}); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Time: now, Actor: "ldaptest", Action: "seed", Target: "directory"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		if _, err := schoolgen.Seed(ctx, d.Store(), schoolgen.People(schoolgen.Large(n)), schoolgen.SeedOptions{
			PasswordHash: func(schoolgen.Person) string { return pupilHash },
		}); err != nil {
			t.Fatal(err)
		}
	}
}
