package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/portal/portaltest"
)

// TestSchoolAUPGatesItsOwnPeople proves, through the real LDAP, RADIUS and
// portal frontends, that each school's AUP gates its own people: a new
// version at north (to be signed again from a minute on) refuses north's
// member of staff until they sign it and leaves south's alone; a person
// moved from south to north signs north's version before they are let in.
func TestSchoolAUPGatesItsOwnPeople(t *testing.T) {
	ctx := context.Background()
	fronts := proofFrontends(t)[:2] // LDAP and RADIUS, as the gate proof builds them
	start := time.Now().Truncate(time.Second)
	pclock := &proofClock{now: start}
	ps := portaltest.Start(t, portaltest.Options{Plain: true, Now: pclock.Now})
	var aupPage func(t *testing.T, user string) string
	fronts = append(fronts, &proofFrontend{svc: directory.ServicePortal, d: ps.Directory, clock: pclock,
		try: func(t *testing.T, user, _ string) (bool, string) {
			page := aupPage(t, user)
			// The portal lets a person in to sign: it is gated when the AUP
			// page asks them to sign a version.
			return !strings.Contains(page, "Sign the policy"), page
		}})
	aupPage = func(t *testing.T, user string) string {
		t.Helper()
		c := ps.Client()
		res, err := c.PostForm(ps.URL+"/signin", url.Values{"username": {user}, "password": {proofPassword}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in of %s: %d", user, res.StatusCode)
		}
		res, err = c.Get(ps.URL + "/aup")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return string(body)
	}

	for _, f := range fronts {
		t.Run(string(f.svc), func(t *testing.T) {
			publish := func(school, version string, resign time.Time) directory.AUPDocument {
				t.Helper()
				doc := directory.AUPDocument{Audience: "staff", Version: version, School: school, Text: "# " + version,
					Digest: directory.Digest("# " + version), PublishedAt: f.clock.Now(), ResignFrom: resign}
				if err := f.d.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
					if err := tx.AddAUPDocument(ctx, &doc); err != nil {
						return err
					}
					return tx.Record(ctx, &audit.Event{Time: f.clock.Now(), Actor: "test", Action: "aup.publish", Target: "aup:staff"})
				}); err != nil {
					t.Fatal(err)
				}
				return doc
			}
			sign := func(a directory.Account, doc directory.AUPDocument) {
				t.Helper()
				if _, err := f.d.RecordSignature(ctx, "test", a, directory.Signature{DocumentID: doc.ID, Digest: doc.Digest,
					Method: directory.SignPortal, Address: "192.0.2.1"}); err != nil {
					t.Fatal(err)
				}
			}
			person := func(name, school string) proofUser {
				t.Helper()
				a := directory.Account{Username: name, Role: directory.RoleStaff, Source: directory.SourceManual,
					Status: directory.StatusActive, GivenName: "Proof", FamilyName: name, School: school}
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
				if f.d.Sealer() != nil {
					var err error
					if u.wifi, err = f.d.IssueWiFi(ctx, "test", a); err != nil {
						t.Fatal(err)
					}
				}
				return u
			}
			expect := func(u proofUser, want bool, why string) {
				t.Helper()
				ok, said := f.try(t, u.a.Username, u.wifi)
				if ok != want {
					t.Fatalf("%s: %s let in = %v, want %v (%.300s)", why, u.a.Username, ok, want, said)
				}
				if !ok && f.svc != directory.ServicePortal && !strings.Contains(said, "aup-unsigned") && !strings.Contains(said, "Acceptable Use Policy (staff)") {
					t.Errorf("%s: refused for %q, want the unsigned AUP", why, said)
				}
			}

			n1 := publish("north", "north-1", time.Time{})
			s1 := publish("south", "south-1", time.Time{})
			north, south, mover := person("nstaff"+string(f.svc), "north"), person("sstaff"+string(f.svc), "south"), person("mstaff"+string(f.svc), "south")
			// A school's document is not the other school's: signing it is refused.
			if _, err := f.d.RecordSignature(ctx, "test", north.a, directory.Signature{DocumentID: s1.ID, Digest: s1.Digest, Method: directory.SignPortal}); err == nil {
				t.Fatal("north's member of staff signed south's AUP")
			}
			sign(north.a, n1)
			sign(south.a, s1)
			sign(mover.a, s1)
			f.clock.add(time.Second)
			expect(north, true, "north-1 signed")
			expect(south, true, "south-1 signed")

			// north publishes version 2, to be signed again from a minute on.
			n2 := publish("north", "north-2", f.clock.Now().Add(time.Minute))
			f.clock.add(2 * time.Minute)
			expect(north, false, "north-2 published at north")
			expect(south, true, "north-2 is not south's")
			if f.svc == directory.ServicePortal {
				page := aupPage(t, north.a.Username)
				if !strings.Contains(page, "version north-2") || strings.Contains(page, "south-") {
					t.Errorf("north's AUP page does not ask for north-2 alone:\n%.2000s", page)
				}
				if page := aupPage(t, south.a.Username); strings.Contains(page, "north-") || !strings.Contains(page, "version south-1") {
					t.Errorf("south's AUP page shows north's policy:\n%.2000s", page)
				}
			}
			sign(north.a, n2)
			f.clock.add(time.Second)
			expect(north, true, "north-2 signed")

			// A transfer keeps the account and asks for the new school's AUP.
			if _, err := f.d.TransferAccount(ctx, "test", mover.a.Username, "north"); !isInvalidNoSchools(err) {
				t.Fatalf("transfer without schools configured: %v", err)
			}
			moved, err := transferDirect(ctx, f, mover.a, "north")
			if err != nil {
				t.Fatal(err)
			}
			if moved.UUID != mover.a.UUID || moved.UIDNumber != mover.a.UIDNumber {
				t.Fatalf("transfer made a new account: %+v", moved)
			}
			mover.a = moved
			expect(mover, false, "moved to north, south-1 signed")
			sign(moved, n2)
			f.clock.add(time.Second)
			expect(mover, true, "moved to north, north-2 signed")
		})
	}
}

func isInvalidNoSchools(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no schools are configured")
}

// transferDirect moves an account through a directory that knows the two
// schools, over the same store (the test frontends' directories know none).
func transferDirect(ctx context.Context, f *proofFrontend, a directory.Account, to string) (directory.Account, error) {
	d := directory.New(f.d.Store(), directory.Config{Now: f.clock.Now,
		Schools: []directory.School{{ID: "north", Name: "North"}, {ID: "south", Name: "South"}}})
	return d.TransferAccount(ctx, "test", a.Username, to)
}
