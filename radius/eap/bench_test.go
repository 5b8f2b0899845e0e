package eap

import (
	"crypto/tls"
	"testing"

	"keystage.dev/keystage/radius/eap/wire"
)

// BenchmarkPEAPMSCHAPv2 runs whole PEAP-MSCHAPv2 conversations in process:
// the Go peer and the engine, every fragment and round trip, no network. The
// ns/op covers both ends of the tunnel.
func BenchmarkPEAPMSCHAPv2(b *testing.B) {
	for _, key := range []struct {
		name string
		rsa  bool
	}{{"ECDSA-P256", false}, {"RSA-2048", true}} {
		for _, resumed := range []bool{false, true} {
			name := key.name + "/full"
			if resumed {
				name = key.name + "/resumed"
			}
			b.Run(name, func(b *testing.B) {
				pki := newTestPKIKey(b, key.rsa)
				srv, err := New(Config{Certificates: []tls.Certificate{pki.cert}, MaxConversations: 1 << 16}, newFakeBackend(), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer srv.Close()
				f := &fixture{pki: pki, backend: newFakeBackend(), srv: srv, client: &tls.Config{
					RootCAs: pki.pool, ServerName: testServerName, MaxVersion: tls.VersionTLS12,
				}}
				if resumed {
					f.client.ClientSessionCache = tls.NewLRUClientSessionCache(1)
					p := f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
					if res, _, err := authenticate(b.Context(), srv, p); err != nil || res.Outcome != Accept {
						b.Fatal(err, res)
					}
				}
				var rounds int
				for b.Loop() {
					p := f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
					res, n, err := authenticate(b.Context(), srv, p)
					if err != nil || res.Outcome != Accept || res.Resumed != resumed {
						b.Fatal(err, res)
					}
					rounds = n
				}
				b.ReportMetric(float64(rounds), "roundtrips")
			})
		}
	}
}

// BenchmarkPEAPMSCHAPv2Parallel runs conversations from as many goroutines
// as GOMAXPROCS, for throughput on all cores.
func BenchmarkPEAPMSCHAPv2Parallel(b *testing.B) {
	for _, resumed := range []bool{false, true} {
		name := "full"
		if resumed {
			name = "resumed"
		}
		b.Run(name, func(b *testing.B) {
			pki := newTestPKIKey(b, true)
			srv, err := New(Config{Certificates: []tls.Certificate{pki.cert}, MaxConversations: 1 << 16}, newFakeBackend(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			b.RunParallel(func(pb *testing.PB) {
				f := &fixture{pki: pki, srv: srv, client: &tls.Config{
					RootCAs: pki.pool, ServerName: testServerName, MaxVersion: tls.VersionTLS12,
				}}
				if resumed {
					f.client.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				}
				for pb.Next() {
					p := f.peer(wire.TypePEAP, "mschapv2", "alice", "correct horse battery")
					if res, _, err := authenticate(b.Context(), srv, p); err != nil || res.Outcome != Accept {
						b.Fatal(err, res)
					}
				}
			})
		})
	}
}
