package radius_test

import (
	"context"
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
	u := pgtest.URL(t)
	ctx := context.Background()
	open := func() *sqlstore.Store {
		s, err := sqlstore.Open(ctx, sqlstore.Config{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	nodeA, nodeB := open(), open()
	srv := radiustest.New(t, radiustest.Options{Store: nodeB, Config: radius.Config{FactsTTL: time.Hour, AuditPoll: time.Hour}})
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
