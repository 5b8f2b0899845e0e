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

// seededStore is a store of schoolgen.Large(n) people, each with a login
// password and a sealed Wi-Fi credential as bench/compare seeds them.
func seededStore(b *testing.B, n int) (*sqlstore.Store, []directory.Account) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(b.TempDir(), "k.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	keys, _ := passwords.GenerateKeyFile()
	ring, _ := passwords.ParseKeyFile(keys)
	hash, err := (&passwords.Hasher{Params: passwords.DefaultArgon2Params()}).Hash("Bench-Otter-Lamp-62")
	if err != nil {
		b.Fatal(err)
	}
	as, err := schoolgen.Seed(ctx, s, schoolgen.People(schoolgen.Large(n)), schoolgen.SeedOptions{
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
	return s, as
}

// runView runs a view in front of s until the benchmark ends, once it
// answers from memory.
func runView(b *testing.B, s directory.Store) *directory.View {
	b.Helper()
	v := directory.NewView(s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	for !v.Fresh() {
		time.Sleep(10 * time.Millisecond)
	}
	return v
}

// BenchmarkViewMemory loads a view of schoolgen.Large(n) people (n from
// KEYSTAGE_BENCH_ACCOUNTS, default 20,000) and reports the heap the view
// holds per person (the figure docs/benchmarks/compare.md gives) and the
// heap objects per person (what each GC cycle marks), and the time the
// load took per person (within 10 ms). b.N is ignored: the load is
// measured once.
func BenchmarkViewMemory(b *testing.B) {
	n := 20_000
	if v := os.Getenv("KEYSTAGE_BENCH_ACCOUNTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	s, _ := seededStore(b, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	began := time.Now()
	v := runView(b, s)
	took := time.Since(began)
	runtime.GC()
	runtime.ReadMemStats(&after)
	people := float64(v.Accounts())
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/people, "heap-bytes/person")
	b.ReportMetric((float64(after.HeapObjects)-float64(before.HeapObjects))/people, "heap-objects/person")
	b.ReportMetric(float64(took.Microseconds())/people, "load-µs/person")
	b.ReportMetric(people, "people")
	runtime.KeepAlive(v)
}

// BenchmarkViewReads reads through a loaded view what the hot paths read
// on each request, one person after another.
func BenchmarkViewReads(b *testing.B) {
	s, as := seededStore(b, 2000)
	v := runView(b, s)
	ctx := context.Background()
	gs, err := s.GroupsOf(ctx, as[len(as)-1].ID)
	if err != nil || len(gs) == 0 {
		b.Fatal("no groups to read", err)
	}
	big, err := s.ListGroups(ctx, directory.GroupQuery{Limit: 1})
	if err != nil || len(big) == 0 {
		b.Fatal("no groups to read", err)
	}
	for _, bc := range []struct {
		name string
		read func(a directory.Account) error
	}{
		{"AccountByUsername", func(a directory.Account) error { _, err := v.AccountByUsername(ctx, a.Username); return err }},
		{"Account", func(a directory.Account) error { _, err := v.Account(ctx, a.ID); return err }},
		{"AccountByUID", func(a directory.Account) error { _, err := v.AccountByUID(ctx, a.UIDNumber); return err }},
		{"CredentialsPassword", func(a directory.Account) error {
			_, err := v.Credentials(ctx, a.ID, directory.CredPassword)
			return err
		}},
		{"CredentialsWiFi", func(a directory.Account) error { _, err := v.Credentials(ctx, a.ID, directory.CredWiFi); return err }},
		{"Suspensions", func(a directory.Account) error { _, err := v.Suspensions(ctx, a.ID); return err }},
		{"Signatures", func(a directory.Account) error { _, err := v.Signatures(ctx, a.ID); return err }},
		{"Consents", func(a directory.Account) error { _, err := v.Consents(ctx, a.ID); return err }},
		{"Approvals", func(a directory.Account) error { _, err := v.Approvals(ctx, a.ID); return err }},
		{"GroupsOf", func(a directory.Account) error { _, err := v.GroupsOf(ctx, a.ID); return err }},
		{"Members", func(directory.Account) error { _, err := v.Members(ctx, big[0].ID); return err }},
		{"SharedMembers", func(directory.Account) error { _, err := v.SharedMembers(ctx, big[0].ID); return err }},
		{"GroupByName", func(directory.Account) error { _, err := v.GroupByName(ctx, gs[0].Name); return err }},
		{"GroupByGID", func(directory.Account) error { _, err := v.GroupByGID(ctx, gs[0].GIDNumber); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := bc.read(as[i%len(as)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	if n := v.ReadsBehind(); n != 0 {
		b.Errorf("%d reads went to the store", n)
	}
}
