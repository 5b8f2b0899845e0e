package radius_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// Each Access-Request is told to the directory's Observer with its method,
// result and, when the gate refused, the reason.
func TestOutcomesObserved(t *testing.T) {
	h := &countingEAP{result: radius.EAPResult{Outcome: radius.EAPChallenge, EAPMessage: []byte{1, 2, 0, 4}, State: []byte("c")}}
	srv := newServer(t, radius.Config{EAP: h, FactsTTL: -1})
	var (
		mu  sync.Mutex
		got []directory.Outcome
	)
	srv.Directory.OnOutcome(func(o directory.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		if o.Took <= 0 {
			t.Errorf("%+v: no time taken", o)
		}
		o.Took = 0
		got = append(got, o)
	})
	ctx := context.Background()
	send := func(req []byte) { srv.Radius.HandlePacket(ctx, nas, req, true) }
	send(accessRequest(t, radiustest.Secret, pap("jo.teacher", "k7mqx-3tazr-9p4ce")))
	send(accessRequest(t, radiustest.Secret, pap("jo.teacher", "wrong-wrong-wrong")))
	send(accessRequest(t, radiustest.Secret, pap("nobody", "k7mqx-3tazr-9p4ce")))
	send(eapRequest(t, nil, []byte{2, 1, 0, 9, 1, 'j', 'o', '.', 't'}))
	a, err := srv.Store.AccountByUsername(ctx, "jo.teacher")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		if err := tx.AddSuspension(ctx, &directory.Suspension{AccountID: a.ID, From: time.Now().Add(-time.Minute), Reason: "test", CreatedBy: "dsl", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Actor: "dsl", Action: "suspension.add", Target: "account:jo.teacher"})
	}); err != nil {
		t.Fatal(err)
	}
	send(accessRequest(t, radiustest.Secret, pap("jo.teacher", "k7mqx-3tazr-9p4ce")))

	want := []directory.Outcome{
		{Service: directory.ServiceWiFi, Op: "pap", Result: directory.ResultOK},
		{Service: directory.ServiceWiFi, Op: "pap", Result: directory.ResultBadCredentials},
		{Service: directory.ServiceWiFi, Op: "pap", Result: directory.ResultBadCredentials},
		{Service: directory.ServiceWiFi, Op: "eap", Result: directory.ResultChallenge},
		{Service: directory.ServiceWiFi, Op: "pap", Result: directory.ResultRefused, Reason: directory.ReasonSuspended},
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("observed\n%+v\nwant\n%+v", got, want)
	}
}
