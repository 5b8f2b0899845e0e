package webfilter

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"keystage.dev/keystage/directory"
)

const testSecret = "filter-shared-secret"

// fakeFilter is a web filter's accounting listener on a loopback port: it
// answers Accounting-Requests while up and keeps each one it answered.
type fakeFilter struct {
	conn *net.UDPConn
	up   atomic.Bool
	mu   sync.Mutex
	got  []*layeh.Packet
	seen map[[16]byte]bool // authenticators answered: a retransmission is kept once
}

func newFakeFilter(t *testing.T) *fakeFilter {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &fakeFilter{conn: conn, seen: map[[16]byte]bool{}}
	f.up.Store(true)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if !f.up.Load() {
				continue
			}
			p, err := layeh.Parse(append([]byte(nil), buf[:n]...), []byte(testSecret))
			if err != nil || p.Code != layeh.CodeAccountingRequest {
				continue
			}
			f.mu.Lock()
			if !f.seen[p.Authenticator] {
				f.seen[p.Authenticator] = true
				f.got = append(f.got, p)
			}
			f.mu.Unlock()
			out, _ := p.Response(layeh.CodeAccountingResponse).Encode()
			conn.WriteToUDP(out, from)
		}
	}()
	return f
}

func (f *fakeFilter) addr() string { return f.conn.LocalAddr().String() }

func (f *fakeFilter) packets() []*layeh.Packet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*layeh.Packet(nil), f.got...)
}

// sessions names what the filter heard, "Status:session", in order.
func (f *fakeFilter) sessions() []string {
	var out []string
	for _, p := range f.packets() {
		out = append(out, rfc2866.AcctStatusType_Get(p).String()+":"+rfc2866.AcctSessionID_GetString(p))
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// fakeDir is a Directory of fixed groups and sessions.
type fakeDir struct {
	groups   map[int64][]string
	sessions []directory.Session
}

func (d fakeDir) GroupsOf(_ context.Context, id int64) ([]directory.Group, error) {
	var out []directory.Group
	for _, g := range d.groups[id] {
		out = append(out, directory.Group{Name: g})
	}
	return out, nil
}

func (d fakeDir) SessionsAt(_ context.Context, ip string, t time.Time) ([]directory.Session, error) {
	var out []directory.Session
	for _, x := range d.sessions {
		if x.FramedIP == ip && !x.StartedAt.After(t) && (x.StoppedAt.IsZero() || !x.StoppedAt.Before(t)) {
			out = append(out, x)
		}
	}
	return out, nil
}

func receiver(name, addr string) Receiver {
	return Receiver{Name: name, Address: addr, Secret: testSecret, Timeout: 100 * time.Millisecond,
		Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
}

func run(t *testing.T, f *Forwarder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		f.Close()
	})
}

func pupilStart(i int) Event {
	return Event{Status: Start, Source: SourceRADIUS, At: time.Now(), Username: "apupil", SessionID: fmt.Sprintf("S%d", i),
		FramedIP: "10.20.0.5", CallingStation: "02-00-00-00-00-01", NASName: "hall-ap", NASAddress: "192.0.2.1",
		Groups: []string{"pupils", "year-7", "filter-ks3"}, FilterID: "pupils-filtered", Class: "pupil"}
}

// A receiver that is down when events arrive gets every one of them, in
// order, once it answers; another receiver is not held up meanwhile.
func TestForwarderDeliversAfterReceiverReturns(t *testing.T) {
	down, up := newFakeFilter(t), newFakeFilter(t)
	down.up.Store(false)
	f, err := New(Config{Receivers: []Receiver{receiver("down", down.addr()), receiver("up", up.addr())}, QueueDir: t.TempDir()}, fakeDir{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, f)
	for i := range 20 {
		f.Enqueue(pupilStart(i))
	}
	waitFor(t, "the live receiver to hear all 20", func() bool { return len(up.packets()) == 20 })
	if n := len(down.packets()); n != 0 {
		t.Fatalf("a down receiver heard %d", n)
	}
	waitFor(t, "a failed send to be counted", func() bool { return f.Stats()[0].Failures > 0 })
	if st := f.Stats()[0]; st.Queued != 20 || st.Up {
		t.Errorf("down receiver's stats: %+v", st)
	}
	down.up.Store(true)
	waitFor(t, "the returned receiver to hear all 20", func() bool { return len(down.packets()) == 20 })
	want := fmt.Sprint(up.sessions())
	if got := fmt.Sprint(down.sessions()); got != want || !strings.HasPrefix(got, "[Start:S0 Start:S1 ") {
		t.Errorf("returned receiver heard %s, want %s", got, want)
	}
	if st := f.Stats()[0]; st.Queued != 0 || st.Sent != 20 || !st.Up {
		t.Errorf("after return: %+v", st)
	}
}

// Keystage stopped while a receiver was down sends what it queued once it
// runs again.
func TestForwarderQueueSurvivesRestart(t *testing.T) {
	rcv := newFakeFilter(t)
	rcv.up.Store(false)
	dir := t.TempDir()
	cfg := Config{Receivers: []Receiver{receiver("smoothwall", rcv.addr())}, QueueDir: dir}
	f, err := New(cfg, fakeDir{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	for i := range 3 {
		f.Enqueue(pupilStart(i))
	}
	cancel()
	<-done
	f.Close()

	rcv.up.Store(true)
	f, err = New(cfg, fakeDir{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, f)
	waitFor(t, "the queued events after the restart", func() bool { return len(rcv.packets()) == 3 })
	if got := fmt.Sprint(rcv.sessions()); got != "[Start:S0 Start:S1 Start:S2]" {
		t.Errorf("after restart: %s", got)
	}
}

// A full queue drops the oldest, counts them, and never blocks Enqueue.
func TestForwarderFullQueueDropsOldest(t *testing.T) {
	rcv := newFakeFilter(t)
	rcv.up.Store(false)
	r := receiver("small", rcv.addr())
	r.MaxRecords = 5
	f, err := New(Config{Receivers: []Receiver{r}, QueueDir: t.TempDir()}, fakeDir{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		f.Enqueue(pupilStart(i))
	}
	if st := f.Stats()[0]; st.Dropped != 7 || st.Queued != 5 {
		t.Errorf("stats: %+v, want 7 dropped and 5 queued", st)
	}
	rcv.up.Store(true)
	run(t, f)
	waitFor(t, "the kept events", func() bool { return len(rcv.packets()) == 5 })
	if got := fmt.Sprint(rcv.sessions()); got != "[Start:S7 Start:S8 Start:S9 Start:S10 Start:S11]" {
		t.Errorf("heard %s", got)
	}
}

// What a filter receives for a pupil's Wi-Fi session, attribute by
// attribute, with each receiver's own User-Name form and group choice.
func TestReceiverAttributes(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	e := Event{Status: Stop, Source: SourceRADIUS, At: at, Username: "apupil", SessionID: "HALL-42", FramedIP: "10.20.0.5",
		CallingStation: "02-00-00-00-00-01", CalledStation: "AA-BB-CC-DD-EE-FF:School", NASName: "hall-ap", NASAddress: "192.0.2.1",
		StartedAt: at.Add(-time.Hour), TerminateCause: "User-Request",
		Groups: []string{"filter-ks3", "pupils", "year-7"}, FilterID: "pupils-filtered", Class: "pupil"}
	cases := []struct {
		r                    Receiver
		user, filter, absent string
		classes              []string
	}{
		{Receiver{Secret: testSecret}, "apupil", "pupils-filtered", "", []string{"pupil"}},
		{Receiver{Secret: testSecret, UserName: "{user}@school.example", ClassGroups: []string{"year-*", "pupils"}, FilterIDGroups: []string{"filter-*"}},
			"apupil@school.example", "filter-ks3", "", []string{"pupils", "year-7"}},
		{Receiver{Secret: testSecret, UserName: `SCHOOL\{user}`, Attributes: []string{"User-Name", "Framed-IP-Address"}},
			`SCHOOL\apupil`, "", "Calling-Station-Id", nil},
	}
	for _, c := range cases {
		p := c.r.withDefaults().packet(e, at.Add(90*time.Second))
		b, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		q, err := layeh.Parse(b, []byte(testSecret))
		if err != nil {
			t.Fatal(err)
		}
		if got := rfc2865.UserName_GetString(q); got != c.user {
			t.Errorf("User-Name %q, want %q", got, c.user)
		}
		if got := rfc2865.FramedIPAddress_Get(q); got.String() != "10.20.0.5" {
			t.Errorf("Framed-IP-Address %v", got)
		}
		if got := rfc2865.FilterID_GetString(q); got != c.filter {
			t.Errorf("%s: Filter-Id %q, want %q", c.user, got, c.filter)
		}
		var classes []string
		for _, a := range q.Attributes {
			if a.Type == rfc2865.Class_Type {
				classes = append(classes, string(a.Attribute))
			}
		}
		if fmt.Sprint(classes) != fmt.Sprint(c.classes) {
			t.Errorf("%s: Class %v, want %v", c.user, classes, c.classes)
		}
		if rfc2866.AcctStatusType_Get(q) != rfc2866.AcctStatusType_Value_Stop || rfc2866.AcctSessionID_GetString(q) != "HALL-42" {
			t.Errorf("status/session: %v %q", rfc2866.AcctStatusType_Get(q), rfc2866.AcctSessionID_GetString(q))
		}
		if got := rfc2866.AcctDelayTime_Get(q); got != 90 {
			t.Errorf("Acct-Delay-Time %d, want 90 (the time it waited)", got)
		}
		if c.absent == "" {
			if rfc2865.CallingStationID_GetString(q) != "02-00-00-00-00-01" || rfc2865.NASIPAddress_Get(q).String() != "192.0.2.1" ||
				rfc2866.AcctSessionTime_Get(q) != 3600 || rfc2866.AcctTerminateCause_Get(q) != rfc2866.AcctTerminateCause_Value_UserRequest ||
				rfc2865.CalledStationID_GetString(q) != "AA-BB-CC-DD-EE-FF:School" || rfc2865.NASIdentifier_GetString(q) != "hall-ap" {
				t.Errorf("%s: attributes %v", c.user, q.Attributes)
			}
		} else if rfc2865.CallingStationID_GetString(q) != "" || rfc2865.NASIPAddress_Get(q) != nil {
			t.Errorf("attributes not chosen were sent: %v", q.Attributes)
		}
	}
}

func TestReceiverValidate(t *testing.T) {
	ok := Receiver{Name: "smoothwall", Address: "10.0.0.5:1813", Secret: "long-enough", UserName: "{user}@school.example"}
	if p := ok.Validate(); len(p) != 0 {
		t.Errorf("valid receiver: %v", p)
	}
	bad := Receiver{Name: "../x", Address: "10.0.0.5", Secret: "short", UserName: "nobody", Attributes: []string{"Password"}, ClassGroups: []string{"["}}
	if p := bad.Validate(); len(p) != 6 {
		t.Errorf("problems: %d %q", len(p), p)
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

func newTestForwarder(t *testing.T, ann Announce, dir Directory, clock *fakeClock) (*Forwarder, *fakeFilter) {
	t.Helper()
	rcv := newFakeFilter(t)
	f, err := New(Config{Receivers: []Receiver{receiver("f", rcv.addr())}, QueueDir: t.TempDir(), Announce: ann, Now: clock.Now}, dir)
	if err != nil {
		t.Fatal(err)
	}
	return f, rcv
}
