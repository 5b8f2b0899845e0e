package radius_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	layeh "layeh.com/radius"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/directory/sqlstore/pgtest"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// Two stores on one PostgreSQL database are two nodes. A suspension made
// on node A reaches node B's cached facts through the store's change
// notifications: the cache and the audit-trail timer are both set to an
// hour here, so nothing else could make node B refuse within the test.
func TestSuspensionOnAnotherNodeIsToldAtOnce(t *testing.T) {
	ctx := context.Background()
	nodeA, nodeB := twoNodes(t)
	srv := radiustest.New(t, radiustest.Options{Store: nodeB, Config: radius.Config{FactsTTL: time.Hour, AuditPoll: time.Hour}})
	<-srv.Radius.Ready()
	a := srv.AddUser(t, radiustest.User{Username: "jo.leaver", WiFi: "k7mqx-3tazr-9p4ce"})
	send := func() layeh.Code {
		req := accessRequest(t, radiustest.Secret, pap("jo.leaver", "k7mqx-3tazr-9p4ce"))
		return checkReply(t, srv.Radius.HandlePacket(ctx, nas, req, true), req, radiustest.Secret).Code
	}
	if c := send(); c != layeh.CodeAccessAccept {
		t.Fatalf("before the suspension: %v", c)
	}
	err := nodeA.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSuspension(ctx, &directory.Suspension{AccountID: a.ID, From: time.Now().Add(-time.Minute), Reason: "test",
			CreatedBy: "dsl", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "cli:dsl", Action: "suspension.add", Target: "account:jo.leaver"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The deadline only bounds a broken test; it is far below the hour
	// the timers would take.
	deadline := time.Now().Add(30 * time.Second)
	for send() != layeh.CodeAccessReject {
		if time.Now().After(deadline) {
			t.Fatal("node B never heard of a suspension made on node A")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An access point added on node A is answered by node B at once, not at
// its next reload of the clients (set here to an hour).
func TestNASAddedOnAnotherNodeIsAnsweredAtOnce(t *testing.T) {
	ctx := context.Background()
	nodeA, nodeB := twoNodes(t)
	srv := radiustest.New(t, radiustest.Options{Store: nodeB, Config: radius.Config{ClientRefresh: time.Hour, AuditPoll: time.Hour}})
	<-srv.Radius.Ready()
	srv.AddUser(t, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce"})
	const secret = "the-new-block-secret"
	ap := netip.MustParseAddrPort("10.9.9.9:40000")
	req := accessRequest(t, secret, pap("jo.teacher", "k7mqx-3tazr-9p4ce"))
	if reply := srv.Radius.HandlePacket(ctx, ap, req, true); reply != nil {
		t.Fatal("an unknown access point was answered")
	}
	sealed, err := srv.Keyring.Seal([]byte(secret), []byte(directory.SealNAS))
	if err != nil {
		t.Fatal(err)
	}
	n := directory.NASClient{Name: "block-b", Addresses: []netip.Prefix{netip.MustParsePrefix("10.9.9.0/24")},
		Secret: sealed, KeyID: srv.Keyring.CurrentID(), Vendor: "generic"}
	if err := nodeA.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.PutNASClient(ctx, &n); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "cli:tech", Action: "nas.add", Target: "nas:block-b"})
	}); err != nil {
		t.Fatal(err)
	}
	// The deadline only bounds a broken test; the reload timer is an hour.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if reply := srv.Radius.HandlePacket(ctx, ap, req, true); reply != nil {
			if p := checkReply(t, reply, req, secret); p.Code != layeh.CodeAccessAccept {
				t.Fatalf("the new access point got %v", p.Code)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("node B never heard of the access point added on node A")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// twoNodes opens two stores on one fresh PostgreSQL schema: two nodes.
func twoNodes(t *testing.T) (*sqlstore.Store, *sqlstore.Store) {
	t.Helper()
	u := pgtest.URL(t)
	open := func() *sqlstore.Store {
		s, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	return open(), open()
}
