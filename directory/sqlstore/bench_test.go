package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

// benchSize is the number of accounts the lookup benchmarks run against;
// KEYSTAGE_BENCH_ACCOUNTS changes it (the figures in docs/benchmarks.md
// are at 200,000).
func benchSize(b *testing.B) int {
	if v := os.Getenv("KEYSTAGE_BENCH_ACCOUNTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("KEYSTAGE_BENCH_ACCOUNTS=%q: %v", v, err)
		}
		return n
	}
	return 200_000
}

// benchStores opens a seeded store per backend, building it once and
// reusing it on later runs (a SQLite file in the temp directory, a schema in
// PostgreSQL), since seeding 200,000 people takes a while.
func benchStores(b *testing.B) map[string]directory.Store {
	ctx := context.Background()
	n := benchSize(b)
	out := map[string]directory.Store{}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("keystage-bench-%d.db", n))
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + path})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	seedOnce(b, s, n)
	out["sqlite"] = s
	if base := os.Getenv("KEYSTAGE_TEST_POSTGRES"); base != "" {
		schema := fmt.Sprintf("bench_%d", n)
		admin, err := sqlstore.OpenRaw(ctx, base)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
			b.Fatal(err)
		}
		admin.Close()
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		p, err := sqlstore.Open(ctx, sqlstore.Config{URL: base + sep + "search_path=" + schema})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		seedOnce(b, p, n)
		out["postgres"] = p
	}
	return out
}

func seedOnce(b *testing.B, s directory.Store, n int) {
	ctx := context.Background()
	have, err := s.CountAccounts(ctx, directory.AccountQuery{})
	if err != nil {
		b.Fatal(err)
	}
	if have == n {
		return
	}
	if have != 0 {
		b.Fatalf("bench store holds %d accounts, want 0 or %d: delete it", have, n)
	}
	b.Logf("seeding %d accounts (once)…", n)
	if _, err := schoolgen.Seed(ctx, s, schoolgen.People(schoolgen.Large(n)), schoolgen.SeedOptions{
		PasswordHash: func(schoolgen.Person) string {
			return "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
		},
	}); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkAccountByUsername(b *testing.B) {
	ctx := context.Background()
	for name, s := range benchStores(b) {
		names := sampleUsernames(b, s)
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := s.AccountByUsername(ctx, names[i%len(names)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkGroupsOf(b *testing.B) {
	ctx := context.Background()
	for name, s := range benchStores(b) {
		ids := sampleIDs(b, s)
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				gs, err := s.GroupsOf(ctx, ids[i%len(ids)])
				if err != nil || len(gs) == 0 {
					b.Fatalf("groups: %d, %v", len(gs), err)
				}
				i++
			}
		})
	}
}

// sample spreads lookups over the whole store rather than one hot row.
func sampleAccounts(b *testing.B, s directory.Store) []directory.Account {
	ctx := context.Background()
	n := benchSize(b)
	var out []directory.Account
	for after := int64(0); len(out) < 1000; after += int64(n / 1000) {
		page, err := s.ListAccounts(ctx, directory.AccountQuery{AfterID: after, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		out = append(out, page[0])
	}
	return out
}

func sampleUsernames(b *testing.B, s directory.Store) []string {
	var out []string
	for _, a := range sampleAccounts(b, s) {
		out = append(out, a.Username)
	}
	return out
}

func sampleIDs(b *testing.B, s directory.Store) []int64 {
	var out []int64
	for _, a := range sampleAccounts(b, s) {
		out = append(out, a.ID)
	}
	return out
}

// The technician's dashboard and the access review's list, whole, over the
// seeded school: every figure of the home page, and the dormant accounts
// (here every account, never having been used: the worst case).
func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	for name, s := range benchStores(b) {
		d := directory.New(s, directory.Config{})
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := d.Dashboard(ctx, directory.ReviewPolicy{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDormant(b *testing.B) {
	ctx := context.Background()
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Dormant(ctx, time.Now().Add(time.Hour), 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
