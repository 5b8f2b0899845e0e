package radius_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	layeh "layeh.com/radius"

	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// BenchmarkServePAP answers PAP Access-Requests over loopback UDP from 16
// clients, each on its own socket waiting for its answer before sending
// the next (as bench/compare drives a server), with the directory's
// records in memory as keystage serve keeps them. Besides the time per
// request it reports the 50th and 99th percentiles of the round trip:
// what Serve's workers add to HandlePacket (reads, writes, the handing
// over of each datagram, the scheduler on few cores).
func BenchmarkServePAP(b *testing.B) {
	cfg := radius.Config{Policies: []radius.Policy{{Group: "staff", VLAN: "10"}}}
	srv := radiustest.New(b, radiustest.Options{Config: cfg})
	srv.AddUser(b, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce", Groups: []string{"staff"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Directory.RunRecords(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	time.Sleep(100 * time.Millisecond) // the lockout's first refresh

	// Every request is new (none answered from the reply cache): each
	// client has its own requests, built before the timer.
	const clients, perClient = 16, 4096
	reqs := make([][][]byte, clients)
	for c := range reqs {
		reqs[c] = make([][]byte, perClient)
		for i := range reqs[c] {
			reqs[c][i] = papRequest(b)
		}
	}
	var (
		mu   sync.Mutex
		lats []time.Duration
		next int
	)
	b.SetParallelism(clients / 2) // 16 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		mine := reqs[next%clients]
		next++
		mu.Unlock()
		conn, err := net.Dial("udp", srv.Auth)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		reply := make([]byte, layeh.MaxPacketLength)
		var own []time.Duration
		for i := 0; pb.Next(); i++ {
			req := mine[i%len(mine)]
			if i >= len(mine) {
				req = papRequest(b) // past the prepared ones: a new one
			}
			t0 := time.Now()
			conn.SetDeadline(t0.Add(5 * time.Second))
			if _, err := conn.Write(req); err != nil {
				b.Error(err)
				return
			}
			n, err := conn.Read(reply)
			if err != nil {
				b.Error(err)
				return
			}
			own = append(own, time.Since(t0))
			if n < 20 || layeh.Code(reply[0]) != layeh.CodeAccessAccept {
				b.Errorf("reply code %d", reply[0])
				return
			}
		}
		mu.Lock()
		lats = append(lats, own...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(lats) > 0 {
		slices.Sort(lats)
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds()), "p99-µs")
	}
}
