package directory_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle/schoolgen"
	"keystage.dev/keystage/passwords"
)

// BenchmarkViewMemory loads a view of schoolgen.Large(n) people (n from
// KEYSTAGE_BENCH_ACCOUNTS, default 20,000), each with a login password
// and a sealed Wi-Fi credential as bench/compare seeds them, and reports
// the heap the view holds per person (the figure docs/benchmarks/compare.md
// gives). b.N is ignored: the load is measured once.
func BenchmarkViewMemory(b *testing.B) {
	n := 20_000
	if v := os.Getenv("KEYSTAGE_BENCH_ACCOUNTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(b.TempDir(), "k.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys, _ := passwords.GenerateKeyFile()
	ring, _ := passwords.ParseKeyFile(keys)
	hash, err := (&passwords.Hasher{Params: passwords.DefaultArgon2Params()}).Hash("Bench-Otter-Lamp-62")
	if err != nil {
		b.Fatal(err)
	}
	_, err = schoolgen.Seed(ctx, s, schoolgen.People(schoolgen.Large(n)), schoolgen.SeedOptions{
		Actor:        "bench",
		PasswordHash: func(schoolgen.Person) string { return hash },
		WiFi: func(p schoolgen.Person) (string, string, error) {
			sealed, err := ring.Seal([]byte("bench-"+p.MISID+"-wifi"), []byte(directory.SealWiFi))
			return sealed, ring.CurrentID(), err
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := directory.NewView(s, nil)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { v.Run(rctx); close(done) }()
	for !v.Fresh() {
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(v.Accounts()), "heap-bytes/person")
	b.ReportMetric(float64(v.Accounts()), "people")
	cancel()
	<-done
	runtime.KeepAlive(v)
}
