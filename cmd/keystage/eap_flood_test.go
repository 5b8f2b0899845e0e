package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius/radiustest"
)

// A pupil's laptop behind the demo access point sends EAP-Identity as fast
// as loopback carries it, each from an invented Calling-Station-Id, many
// times the size of the conversation table. A phone signing in with
// PEAP-MSCHAPv2 (eapol_test) at the same time gets in, and the flood is
// held in no table at all. On the old single table of 4,096 the flood
// filled it and every real sign-in was refused for two minutes.
func TestEAPIdentityFloodThroughTheServer(t *testing.T) {
	needEapolTest(t)
	const table = 64
	var ok wifiPerson
	f, reg := serveDemoRADIUSWith(t, func(ctx context.Context, d *directory.Directory) {
		ok = wifiPupils(t, ctx, d, 1)[0]
	}, func(r *RADIUSSection) { r.EAP.MaxConversations = table })
	run := eapolPEAP(t, f)
	var auth string
	for _, a := range f.Addrs {
		if s, found := strings.CutPrefix(a, "auth "); found {
			auth = s
		}
	}

	// The server listens once serve has started: wait for its first answer,
	// so that the flood does not meet a closed port.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		_, err := radiustest.Exchange(ctx, auth, demoNASSecret, func(p *layeh.Packet) {
			rfc2865.UserName_SetString(p, "anonymous")
			p.Add(rfc2869.EAPMessage_Type, eapIdentity)
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the RADIUS server never answered: %v", err)
		}
	}

	stop := make(chan struct{})
	flooded := make(chan struct{})
	var sent atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { defer close(flooded); floodEAPIdentity(t, auth, 50_000, 60*time.Second, stop, &sent) })
	// The table is full before the phone starts (or the flood has ended).
	for sent.Load() < 4*table {
		select {
		case <-flooded:
			t.Fatalf("the flood stopped after %d identities", sent.Load())
		case <-time.After(time.Millisecond):
		}
	}
	out := run(ok.username, ok.credential)
	close(stop)
	wg.Wait()
	if !strings.Contains(out, "\nSUCCESS") {
		t.Fatalf("sign-in during a flood of %d identities:\n%s", sent.Load(), tail(out, 30))
	}
	// An identity is answered from a cookie: the flood stored nothing.
	if n := gauge(t, reg, "keystage_eap_conversations"); n > 0 {
		t.Fatalf("%v conversations in flight after a flood of %d identities", n, sent.Load())
	}
	t.Logf("%d identities sent during the sign-in", sent.Load())
}

// floodEAPIdentity sends signed Access-Requests carrying EAP-Identity from
// invented Calling-Station-Ids to a loopback RADIUS server: at most n, for
// at most d, until stop closes.
func floodEAPIdentity(t *testing.T, addr string, n int64, d time.Duration, stop <-chan struct{}, sent *atomic.Int64) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		t.Errorf("flood target %q is not loopback", addr)
		return
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	go func() { // drain the answers
		buf := make([]byte, 4096)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(d)
	for i := int64(0); i < n && time.Now().Before(deadline); i++ {
		select {
		case <-stop:
			return
		default:
		}
		p := layeh.New(layeh.CodeAccessRequest, []byte(demoNASSecret))
		p.Identifier = byte(i)
		rfc2865.UserName_SetString(p, "anonymous")
		rfc2865.CallingStationID_SetString(p, fmt.Sprintf("02-66-%02X-%02X-%02X-%02X", byte(i>>24), byte(i>>16), byte(i>>8), byte(i)))
		p.Add(rfc2869.EAPMessage_Type, eapIdentity)
		b, err := radiustest.Sign(p, demoNASSecret)
		if err != nil {
			t.Error(err)
			return
		}
		// A write may fail for a moment (a port unreachable from a packet
		// the server dropped); the loop is bounded by count and time anyway.
		if _, err := conn.Write(b); err == nil {
			sent.Add(1)
		}
		if i%256 == 255 {
			time.Sleep(time.Millisecond) // let the phone's packets through the socket buffer
		}
	}
}

// eapIdentity is an EAP-Response/Identity of "anonymous".
var eapIdentity = append([]byte{2, 1, 0, 5 + 9, 1}, "anonymous"...)

// gauge reads one unlabelled gauge or counter from the registry.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
