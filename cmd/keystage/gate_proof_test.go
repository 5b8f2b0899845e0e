package main

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/ldapserver/ldaptest"
	"keystage.dev/keystage/portal/portaltest"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// The gate's decisions, proved through the real frontends: for every
// reason and every service, an account is put in that state through the
// directory's services and then tries LDAP (a simple bind), Wi-Fi (a PAP
// Access-Request) and the portal (a sign-in), and each frontend must
// answer as the gate says, with the reason where its protocol carries one.

// proofClock is a clock the proof moves by hand.
type proofClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *proofClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *proofClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

const proofPassword = "Heron-Lantern-Quarry-62"

// proofFrontend is one service reached over its protocol.
type proofFrontend struct {
	svc   directory.Service
	d     *directory.Directory
	clock *proofClock
	// addr is where the frontend listens: an LDAP URL, RADIUS's
	// authentication address, the portal's URL.
	addr string
	// try signs in and returns whether it was let in and what it said.
	try func(t *testing.T, user, wifi string) (bool, string)
}

// proofUser is an account set up to pass the gate, then changed.
type proofUser struct {
	a    directory.Account
	wifi string // its Wi-Fi credential, when the frontend has a keyring
}

// proofCase is one state of an account and what each service answers.
type proofCase struct {
	name string
	// role of the account (default staff), and its year for a pupil.
	role directory.Role
	year string
	// noSign leaves the AUP unsigned, noWiFi issues no Wi-Fi credential.
	noSign, noWiFi bool
	// edit changes the account, or the facts around it, after setup.
	edit func(t *testing.T, f *proofFrontend, u *proofUser)
	// allowed lists the services that let the account in; for the others
	// the answer must contain want (the protocol's word for the reason).
	allowed []directory.Service
	want    map[directory.Service]string
}

func TestGateReasonsOnEveryService(t *testing.T) {
	ctx := context.Background()
	all := []directory.Service{directory.ServiceLDAP, directory.ServiceWiFi, directory.ServicePortal}
	// What each frontend says for a reason: LDAP carries the reason code in
	// its diagnostic; RADIUS and the portal show the gate's message.
	says := func(reason directory.Reason, msg string) map[directory.Service]string {
		return map[directory.Service]string{directory.ServiceLDAP: "keystage: " + string(reason), directory.ServiceWiFi: msg, directory.ServicePortal: msg}
	}
	accountEdit := func(fn func(a *directory.Account, now time.Time)) func(*testing.T, *proofFrontend, *proofUser) {
		return func(t *testing.T, f *proofFrontend, u *proofUser) {
			t.Helper()
			now := f.clock.Now()
			err := f.d.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
				var err error
				if u.a, err = tx.UpdateAccount(ctx, u.a.ID, func(a *directory.Account) error { fn(a, now); return nil }); err != nil {
					return err
				}
				return tx.Record(ctx, &audit.Event{Time: now, Actor: "test", Action: "account.update", Target: "account:" + u.a.Username})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []proofCase{
		{name: "allowed", allowed: all},
		{name: "not started", edit: accountEdit(func(a *directory.Account, now time.Time) { a.StartDate = now.AddDate(0, 0, 2) }),
			want: says(directory.ReasonNotStarted, "Your account is not active yet")},
		{name: "left", edit: accountEdit(func(a *directory.Account, now time.Time) { a.LeaveDate = now.AddDate(0, 0, -2) }),
			want: says(directory.ReasonLeft, "you have left the school")},
		{name: "disabled", edit: accountEdit(func(a *directory.Account, now time.Time) { a.Status, a.DisabledAt = directory.StatusDisabled, now }),
			want: says(directory.ReasonDisabled, "Your account is disabled")},
		{name: "suspended until T", edit: func(t *testing.T, f *proofFrontend, u *proofUser) {
			if _, err := f.d.Suspend(ctx, "test", u.a, directory.Suspension{Until: f.clock.Now().AddDate(0, 0, 3), Reason: "proof"}); err != nil {
				t.Fatal(err)
			}
		}, allowed: []directory.Service{directory.ServicePortal}, want: says(directory.ReasonSuspended, "Your network access is suspended until ")},
		{name: "suspended until lifted", edit: func(t *testing.T, f *proofFrontend, u *proofUser) {
			if _, err := f.d.Suspend(ctx, "test", u.a, directory.Suspension{Reason: "proof"}); err != nil {
				t.Fatal(err)
			}
		}, allowed: []directory.Service{directory.ServicePortal}, want: says(directory.ReasonSuspended, "suspended until further notice")},
		{name: "AUP unsigned", noSign: true, allowed: []directory.Service{directory.ServicePortal},
			want: says(directory.ReasonAUPUnsigned, "sign the Acceptable Use Policy (staff)")},
		{name: "AUP re-sign after a new version", role: directory.RoleGuest, edit: func(t *testing.T, f *proofFrontend, u *proofUser) {
			// Signed v1; v2 needs re-signing from a minute from now: still
			// in until then, out after.
			if _, err := f.d.PublishAUP(ctx, "test", directory.AUPDocument{Audience: "community", Version: "proof-2", Text: "# v2",
				ResignFrom: f.clock.Now().Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			if ok, said := f.try(t, u.a.Username, u.wifi); !ok {
				t.Errorf("refused before the re-sign date: %s", said)
			}
			f.clock.add(2 * time.Minute)
		}, allowed: []directory.Service{directory.ServicePortal}, want: says(directory.ReasonAUPUnsigned, "sign the Acceptable Use Policy (community)")},
		{name: "consent missing", role: directory.RolePupil, year: "8", edit: func(t *testing.T, f *proofFrontend, u *proofUser) {
			if _, err := f.d.WithdrawConsent(ctx, "test", u.a); err != nil {
				t.Fatal(err)
			}
		}, allowed: []directory.Service{directory.ServicePortal}, want: says(directory.ReasonConsentMissing, "permission from your parent or carer")},
		// Without a live Wi-Fi credential there is nothing to check a
		// Wi-Fi password against: RADIUS says only that it is wrong (the
		// portal tells the person why).
		{name: "no credential", noWiFi: true, allowed: []directory.Service{directory.ServiceLDAP, directory.ServicePortal},
			want: map[directory.Service]string{directory.ServiceWiFi: "Wrong username or Wi-Fi password"}},
		{name: "credential ended", edit: func(t *testing.T, f *proofFrontend, u *proofUser) {
			if f.d.Sealer() != nil {
				if err := f.d.RevokeWiFi(ctx, "test", u.a); err != nil {
					t.Fatal(err)
				}
			}
		}, allowed: []directory.Service{directory.ServiceLDAP, directory.ServicePortal},
			want: map[directory.Service]string{directory.ServiceWiFi: "Wrong username or Wi-Fi password"}},
		{name: "must change password", edit: accountEdit(func(a *directory.Account, _ time.Time) { a.MustChangePassword = true }),
			allowed: []directory.Service{directory.ServiceWiFi, directory.ServicePortal},
			want:    says(directory.ReasonMustChange, "change your password")},
		{name: "locked out", edit: func(t *testing.T, f *proofFrontend, u *proofUser) {
			// Guesses from devices the account has never signed in on
			// refuse new devices, as each frontend's client is here.
			for i := range 5 {
				att, err := f.d.Lockout().Begin(ctx, u.a, "", directory.Origin{ID: fmt.Sprintf("radius:guesser-%d@ap", i)}, f.clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				if err := att.Fail(ctx, ""); err != nil {
					t.Fatal(err)
				}
			}
		}, want: says(directory.ReasonNewDevicesLocked, "cannot be signed in to from a new device or computer until ")},
	}
	for _, f := range proofFrontends(t) {
		t.Run(string(f.svc), func(t *testing.T) {
			for i, pc := range cases {
				t.Run(pc.name, func(t *testing.T) {
					u := proofSetup(t, f, pc, i)
					if pc.edit != nil {
						pc.edit(t, f, &u)
					}
					ok, said := f.try(t, u.a.Username, u.wifi)
					want := oneOfSvc(f.svc, pc.allowed)
					if ok != want {
						t.Fatalf("let in = %v, want %v (%s)", ok, want, said)
					}
					if !ok && !strings.Contains(said, pc.want[f.svc]) {
						t.Errorf("said %q, want %q", said, pc.want[f.svc])
					}
				})
			}
		})
	}
}

func oneOfSvc(s directory.Service, list []directory.Service) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// proofSetup makes a fresh account that passes the gate on every service:
// password, Wi-Fi credential (where the frontend has a keyring), the
// current AUP of its audience signed, and, for a pupil, consent.
func proofSetup(t *testing.T, f *proofFrontend, pc proofCase, i int) proofUser {
	t.Helper()
	ctx := context.Background()
	role := pc.role
	if role == "" {
		role = directory.RoleStaff
	}
	a := directory.Account{Username: "proof" + string(rune('a'+i)) + strings.ReplaceAll(string(f.svc), "-", ""), Role: role, YearGroup: pc.year,
		Source: directory.SourceManual, Status: directory.StatusActive, GivenName: "Proof", FamilyName: "Case"}
	if err := f.d.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: f.clock.Now(), Actor: "test", Action: "account.create", Target: "account:" + a.Username})
	}); err != nil {
		t.Fatal(err)
	}
	u := proofUser{a: a}
	if f.d.Hasher() != nil {
		if err := f.d.SetPassword(ctx, "test", a, proofPassword); err != nil {
			t.Fatal(err)
		}
	}
	if f.d.Sealer() != nil && !pc.noWiFi {
		var err error
		if u.wifi, err = f.d.IssueWiFi(ctx, "test", a); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := f.d.Store().AUPDocuments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, aud := range f.d.Gate().Policy.AudiencesOf(a) {
		doc, ok := directory.CurrentDocument(docs, aud, f.clock.Now())
		if !ok {
			if doc, err = f.d.PublishAUP(ctx, "test", directory.AUPDocument{Audience: aud, Version: "proof-1", Text: "# " + aud}); err != nil {
				t.Fatal(err)
			}
		}
		if pc.noSign {
			continue
		}
		if _, err := f.d.RecordSignature(ctx, "test", a, directory.Signature{DocumentID: doc.ID, Digest: doc.Digest,
			Method: directory.SignPortal, Address: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	if f.d.Gate().Policy.NeedsConsent(a) {
		if _, err := f.d.RecordConsent(ctx, "test", a, directory.Consent{ParentName: "Pat Case", Relationship: "carer",
			GivenAt: f.clock.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// Signatures and consents are dated now: step past them.
	f.clock.add(time.Second)
	return u
}

func proofFrontends(t *testing.T) []*proofFrontend {
	start := time.Now().Truncate(time.Second)
	lc, rc, pc := &proofClock{now: start}, &proofClock{now: start}, &proofClock{now: start}

	ls := ldaptest.Start(t, ldaptest.Options{Now: lc.Now})
	ldapFront := &proofFrontend{svc: directory.ServiceLDAP, d: ls.Dir, clock: lc, addr: ls.URL, try: func(t *testing.T, user, _ string) (bool, string) {
		l, err := ldap.DialURL(ls.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		err = l.Bind(user+"@"+ldaptest.Domain, proofPassword)
		if err == nil {
			return true, ""
		}
		var le *ldap.Error
		if !errors.As(err, &le) || le.ResultCode != ldap.LDAPResultInvalidCredentials {
			t.Fatalf("bind: %v", err)
		}
		return false, le.Err.Error()
	}}

	rs := radiustest.New(t, radiustest.Options{Now: rc.Now, Config: radius.Config{ReplyMessages: true, FactsTTL: -1}})
	radiusFront := &proofFrontend{svc: directory.ServiceWiFi, d: rs.Directory, clock: rc, addr: rs.Auth, try: func(t *testing.T, user, wifi string) (bool, string) {
		if wifi == "" {
			wifi = "no-credential-was-issued"
		}
		return papExchange(t, rs.Auth, user, wifi)
	}}

	ps := portaltest.Start(t, portaltest.Options{Plain: true, Now: pc.Now})
	portalFront := &proofFrontend{svc: directory.ServicePortal, d: ps.Directory, clock: pc, addr: ps.URL, try: func(t *testing.T, user, _ string) (bool, string) {
		res, err := ps.Client().PostForm(ps.URL+"/signin", url.Values{"username": {user}, "password": {proofPassword}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		switch res.StatusCode {
		case http.StatusSeeOther:
			return true, ""
		case http.StatusForbidden, http.StatusUnauthorized:
			return false, strings.ReplaceAll(string(body), "&#39;", "'")
		}
		t.Fatalf("sign-in: %d %s", res.StatusCode, body)
		return false, ""
	}}
	return []*proofFrontend{ldapFront, radiusFront, portalFront}
}

// papExchange sends a PAP Access-Request, signed with Message-Authenticator
// as a NAS does, and returns whether it was accepted and its Reply-Message.
func papExchange(t *testing.T, addr, user, password string) (bool, string) {
	t.Helper()
	secret := []byte(radiustest.Secret)
	p := layeh.New(layeh.CodeAccessRequest, secret)
	rfc2865.UserName_SetString(p, user)
	rfc2865.UserPassword_SetString(p, password)
	p.Add(rfc2869.MessageAuthenticator_Type, make(layeh.Attribute, 16))
	req, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(md5.New, secret)
	mac.Write(req)
	copy(req[len(req)-16:], mac.Sum(nil))
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	for try := 0; try < 5; try++ {
		if _, err := conn.Write(req); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			continue // resend, as a NAS does
		}
		if !layeh.IsAuthenticResponse(buf[:n], req, secret) {
			t.Fatal("reply not authentic")
		}
		reply, err := layeh.Parse(buf[:n], secret)
		if err != nil {
			t.Fatal(err)
		}
		return reply.Code == layeh.CodeAccessAccept, rfc2865.ReplyMessage_GetString(reply)
	}
	t.Fatal("no answer from the RADIUS server")
	return false, ""
}
