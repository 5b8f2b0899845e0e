package radius_test

import (
	"context"
	"crypto/rand"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2759"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/vendors/microsoft"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
)

// benchAccess measures HandlePacket on one Access-Request after another, in
// process (no sockets). Requests are built before the timer; each is sent
// from its own source port so that none is answered from the reply cache.
func benchAccess(b *testing.B, ttl int, build func(b *testing.B) []byte) {
	benchAccessRecords(b, ttl, false, build)
}

// benchAccessRecords is benchAccess with, when records is set, the
// directory's records kept in memory as keystage serve keeps them (see
// Directory.RunRecords): the lockout's counters and familiar sources are
// read from memory rather than the store.
func benchAccessRecords(b *testing.B, ttl int, records bool, build func(b *testing.B) []byte) {
	benchAccessStore(b, ttl, records, false, build)
}

// benchAccessStore is benchAccessRecords, with the store behind a
// directory.View (as keystage serve reads it) when view is set.
func benchAccessStore(b *testing.B, ttl int, records, view bool, build func(b *testing.B) []byte) {
	cfg := radius.Config{Policies: []radius.Policy{{Group: "staff", VLAN: "10"}}}
	if ttl < 0 {
		cfg.FactsTTL = -1
	}
	opts := radiustest.Options{Config: cfg, NoServe: true}
	var v *directory.View
	if view {
		st, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + filepath.Join(b.TempDir(), "keystage.db")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		v = directory.NewView(st, nil)
		opts.Store = v
	}
	srv := radiustest.New(b, opts)
	srv.AddUser(b, radiustest.User{Username: "jo.teacher", WiFi: "k7mqx-3tazr-9p4ce", Groups: []string{"staff"}})
	if view {
		vctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { v.Run(vctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		for deadline := time.Now().Add(10 * time.Second); !v.Fresh(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("the view never loaded")
			}
		}
	}
	reqs := make([][]byte, 512)
	for i := range reqs {
		reqs[i] = build(b)
	}
	ctx := context.Background()
	if records {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { srv.Directory.RunRecords(rctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		// The first refresh of the counters and one sign-in that makes
		// the source familiar in memory.
		time.Sleep(100 * time.Millisecond)
		srv.Radius.HandlePacket(ctx, netip.AddrPortFrom(nas.Addr(), 1), reqs[0], true)
	}
	i := 0
	for b.Loop() {
		src := netip.AddrPortFrom(nas.Addr(), uint16(1024+i/len(reqs)))
		reply := srv.Radius.HandlePacket(ctx, src, reqs[i%len(reqs)], true)
		if reply == nil || layeh.Code(reply[0]) != layeh.CodeAccessAccept {
			b.Fatalf("request %d not accepted", i)
		}
		i++
	}
}

func papRequest(b *testing.B) []byte {
	return accessRequest(b, radiustest.Secret, pap("jo.teacher", "k7mqx-3tazr-9p4ce"))
}

func mschapv2Request(b *testing.B) []byte {
	ac, pc := make([]byte, 16), make([]byte, 16)
	rand.Read(ac)
	rand.Read(pc)
	nt, err := rfc2759.GenerateNTResponse(ac, pc, []byte("jo.teacher"), []byte("k7mqx-3tazr-9p4ce"))
	if err != nil {
		b.Fatal(err)
	}
	return accessRequest(b, radiustest.Secret, func(p *layeh.Packet) {
		rfc2865.UserName_SetString(p, "jo.teacher")
		microsoft.MSCHAPChallenge_Set(p, ac)
		microsoft.MSCHAP2Response_Set(p, append(append(append([]byte{1, 0}, pc...), make([]byte, 8)...), nt...))
	})
}

// Cached: the account's facts are reused (the common case: a device
// re-authenticating, many people at the start of a lesson).
func BenchmarkAccessPAPCached(b *testing.B)      { benchAccess(b, 0, papRequest) }
func BenchmarkAccessMSCHAPv2Cached(b *testing.B) { benchAccess(b, 0, mschapv2Request) }

// Uncached: every request reads the account, its gate facts, groups and
// Wi-Fi credential from SQLite (ten queries).
func BenchmarkAccessPAPUncached(b *testing.B)      { benchAccess(b, -1, papRequest) }
func BenchmarkAccessMSCHAPv2Uncached(b *testing.B) { benchAccess(b, -1, mschapv2Request) }

// Records: as keystage serve answers, with the lockout's records in memory
// (RunRecords); the facts cached as above, or read each time.
func BenchmarkAccessPAPRecords(b *testing.B)         { benchAccessRecords(b, 0, true, papRequest) }
func BenchmarkAccessMSCHAPv2Records(b *testing.B)    { benchAccessRecords(b, 0, true, mschapv2Request) }
func BenchmarkAccessPAPRecordsUncached(b *testing.B) { benchAccessRecords(b, -1, true, papRequest) }

// View: uncached, the facts read from a directory.View as keystage serve
// reads them (the cold path: a person's first request within FactsTTL).
func BenchmarkAccessPAPViewUncached(b *testing.B) { benchAccessStore(b, -1, true, true, papRequest) }
func BenchmarkAccessMSCHAPv2ViewUncached(b *testing.B) {
	benchAccessStore(b, -1, true, true, mschapv2Request)
}
