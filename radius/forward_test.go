package radius_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// sink keeps what the server tells it.
type sink struct {
	mu  sync.Mutex
	got []radius.Accounting
}

func (s *sink) Accounted(_ context.Context, a radius.Accounting) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, a)
}

func (s *sink) all() []radius.Accounting {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]radius.Accounting(nil), s.got...)
}

// Each stored accounting record is handed to the sink with the person's
// groups and policy (what the web filter is told), and so are Accounting-On
// and -Off; a record the store refused is not.
func TestAccountingReachesSink(t *testing.T) {
	k := &sink{}
	srv := newServer(t, radius.Config{Accounting: k, Policies: []radius.Policy{{Group: "staff", FilterID: "staff-open", Class: "staff"}}})
	ctx := context.Background()
	nas := netip.MustParseAddrPort("127.0.0.1:40000")
	send := func(status rfc2866.AcctStatusType, session string) {
		t.Helper()
		p := layeh.New(layeh.CodeAccountingRequest, []byte(radiustest.Secret))
		rfc2866.AcctStatusType_Set(p, status)
		if session != "" {
			rfc2865.UserName_SetString(p, "jo.teacher")
			rfc2866.AcctSessionID_SetString(p, session)
			rfc2865.FramedIPAddress_Set(p, netip.MustParseAddr("10.20.0.9").AsSlice())
			rfc2865.CallingStationID_SetString(p, "02-00-00-00-00-09")
		}
		b, _ := p.Encode()
		if r := srv.Radius.HandlePacket(ctx, nas, b, false); r == nil {
			t.Fatalf("%v not answered", status)
		}
	}
	send(rfc2866.AcctStatusType_Value_Start, "A-1")
	send(rfc2866.AcctStatusType_Value_Stop, "A-1")
	send(rfc2866.AcctStatusType_Value_AccountingOn, "")
	got := k.all()
	var sum []string
	for _, a := range got {
		sum = append(sum, a.Status+":"+a.Session.SessionID)
	}
	if fmt.Sprint(sum) != "[Start:A-1 Stop:A-1 Accounting-On:]" {
		t.Fatalf("sink heard %v", sum)
	}
	a := got[0]
	if a.Session.Username != "jo.teacher" || a.Session.FramedIP != "10.20.0.9" || a.Session.CallingStation != "02-00-00-00-00-09" ||
		fmt.Sprint(a.Groups) != "[staff]" || a.Policy.FilterID != "staff-open" || a.Policy.Class != "staff" || a.Disconnect {
		t.Errorf("Start: %+v", a)
	}
	if on := got[2]; on.Session.NASAddress != "127.0.0.1" || on.Session.NASName != "test-nas" {
		t.Errorf("Accounting-On: %+v", on)
	}
}

// A Disconnect tells the sink of a Stop for the session once the NAS has
// answered, whatever it answered, and at once when no NAS answers.
func TestDisconnectStopReachesSink(t *testing.T) {
	for _, answer := range []layeh.Code{layeh.CodeDisconnectACK, layeh.CodeDisconnectNAK, 0} {
		k := &sink{}
		srv := newServer(t, radius.Config{Accounting: k, DisconnectTimeout: 50 * time.Millisecond, DisconnectTries: 1})
		var fake *fakeNAS
		if answer != 0 {
			fake = newFakeNAS(t, answer)
		} else {
			// A NAS that never answers: its port is closed.
			fake = newFakeNAS(t, layeh.CodeDisconnectACK)
			fake.conn.Close()
		}
		a := pointNAS(t, srv, fake)
		suspend(t, srv, a, time.Time{})
		got := k.all()
		if len(got) != 1 || got[0].Status != "Stop" || !got[0].Disconnect || got[0].Session.SessionID != "S-42" ||
			got[0].Session.TerminateCause != "Admin-Reset" || fmt.Sprint(got[0].Groups) != "[staff]" {
			t.Errorf("after %v: sink heard %+v", answer, got)
		}
	}
}
