package radius_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// TestRealClientSchoolAUP: with Debian's radtest, a new version of one
// school's AUP (to be signed again from now) refuses that school's member
// of staff, with the reason, and lets the other school's in; signing it
// lets them in again.
func TestRealClientSchoolAUP(t *testing.T) {
	ctx := context.Background()
	srv := radiustest.New(t, radiustest.Options{Config: radius.Config{ReplyMessages: true, FactsTTL: -1}})
	north := srv.AddUser(t, radiustest.User{Username: "n.staff", WiFi: "north-wifi-cred-1"})
	south := srv.AddUser(t, radiustest.User{Username: "s.staff", WiFi: "south-wifi-cred-1"})
	update := func(fn func(ctx context.Context, tx directory.Tx) error) {
		t.Helper()
		if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
			if err := fn(ctx, tx); err != nil {
				return err
			}
			return tx.Record(ctx, &audit.Event{Actor: "test", Action: "test.change", Target: "schools"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	update(func(ctx context.Context, tx directory.Tx) error {
		for _, x := range []struct {
			a      *directory.Account
			school string
		}{{&north, "north"}, {&south, "south"}} {
			var err error
			if *x.a, err = tx.UpdateAccount(ctx, x.a.ID, func(a *directory.Account) error { a.School = x.school; return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	publish := func(school, version string, resign time.Time) directory.AUPDocument {
		doc := directory.AUPDocument{School: school, Audience: "staff", Version: version, Text: "# " + version,
			Digest: directory.Digest("# " + version), PublishedAt: time.Now().Add(-time.Minute), ResignFrom: resign}
		update(func(ctx context.Context, tx directory.Tx) error { return tx.AddAUPDocument(ctx, &doc) })
		return doc
	}
	sign := func(a directory.Account, doc directory.AUPDocument) {
		t.Helper()
		if _, err := srv.Directory.RecordSignature(ctx, "test", a, directory.Signature{DocumentID: doc.ID, Digest: doc.Digest,
			Method: directory.SignPortal, Address: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	sign(north, publish("north", "north-1", time.Time{}))
	sign(south, publish("south", "south-1", time.Time{}))
	for _, u := range []struct{ name, cred string }{{"n.staff", "north-wifi-cred-1"}, {"s.staff", "south-wifi-cred-1"}} {
		if out, ok := radtest(t, "pap", u.name, u.cred, srv.Auth); !ok {
			t.Fatalf("%s before north's new version:\n%s", u.name, out)
		}
	}
	n2 := publish("north", "north-2", time.Now().Add(-time.Second))
	out, ok := radtest(t, "pap", "n.staff", "north-wifi-cred-1", srv.Auth)
	if ok || !strings.Contains(out, "Acceptable Use Policy (staff)") {
		t.Errorf("north's member of staff after north-2:\n%s", out)
	}
	if out, ok := radtest(t, "pap", "s.staff", "south-wifi-cred-1", srv.Auth); !ok {
		t.Errorf("south's member of staff after north-2:\n%s", out)
	}
	sign(north, n2)
	if out, ok := radtest(t, "pap", "n.staff", "north-wifi-cred-1", srv.Auth); !ok {
		t.Errorf("north's member of staff, north-2 signed:\n%s", out)
	}
}

// TestRealClientSchoolVLANs: each school's VLAN and filter come from its
// own role group (north-pupils, made by the school's sync) in the
// [[radius.policy]] table, tried in order.
func TestRealClientSchoolVLANs(t *testing.T) {
	srv := radiustest.New(t, radiustest.Options{Config: radius.Config{ReplyMessages: true, Policies: []radius.Policy{
		{Group: "north-pupils", VLAN: "120", FilterID: "north-pupil-acl"},
		{Group: "south-pupils", VLAN: "220", FilterID: "south-pupil-acl"},
		{Group: "pupils", VLAN: "20"},
	}}})
	srv.AddUser(t, radiustest.User{Username: "n.pupil", Role: directory.RolePupil, WiFi: "north-pupil-cred", Groups: []string{"pupils", "north-pupils"}})
	srv.AddUser(t, radiustest.User{Username: "s.pupil", Role: directory.RolePupil, WiFi: "south-pupil-cred", Groups: []string{"pupils", "south-pupils"}})
	for _, tc := range []struct{ user, cred, vlan, filter string }{
		{"n.pupil", "north-pupil-cred", "120", "north-pupil-acl"},
		{"s.pupil", "south-pupil-cred", "220", "south-pupil-acl"},
	} {
		out, ok := radtest(t, "pap", tc.user, tc.cred, srv.Auth)
		if !ok || !strings.Contains(out, `Tunnel-Private-Group-Id:0 = "`+tc.vlan+`"`) || !strings.Contains(out, `Filter-Id = "`+tc.filter+`"`) {
			t.Errorf("%s:\n%s", tc.user, out)
		}
	}
}
