package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

// aupBenchDir is a data directory with KEYSTAGE_BENCH_ACCOUNTS people
// (default 200,000), the staff and pupil AUPs published and every second
// person signed. It is built once in the temporary directory and reused.
func aupBenchDir(b *testing.B) (string, int) {
	n := 200_000
	if v := os.Getenv("KEYSTAGE_BENCH_ACCOUNTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("KEYSTAGE_BENCH_ACCOUNTS=%q: %v", v, err)
		}
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("keystage-aup-bench-%d", n))
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		return dir, n
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(dir, "keystage.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Logf("seeding %d people (once)…", n)
	accts, err := schoolgen.Seed(ctx, s, schoolgen.People(schoolgen.Large(n)), schoolgen.SeedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Add(-time.Hour)
	err = s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		docs := map[string]directory.AUPDocument{}
		for _, aud := range []string{"staff", "pupil-ks1", "pupil-ks2", "pupil"} {
			d := directory.AUPDocument{Audience: aud, Version: "1", Text: "# " + aud, Digest: directory.Digest("# " + aud), PublishedAt: now}
			if err := tx.AddAUPDocument(ctx, &d); err != nil {
				return err
			}
			docs[aud] = d
		}
		for i, a := range accts {
			auds := directory.DefaultAudiences(a)
			if i%2 == 1 || len(auds) == 0 {
				continue
			}
			d := docs[auds[0]]
			if err := tx.AddSignature(ctx, &directory.Signature{AccountID: a.ID, DocumentID: d.ID, Digest: d.Digest, SignedAt: now,
				Method: directory.SignPaper, FormDate: now, Witness: "bench"}); err != nil {
				return err
			}
		}
		return tx.Record(ctx, &audit.Event{Time: now, Actor: "bench", Action: "bench.seed", Target: "bench"})
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir, n
}

// BenchmarkAUPStatus runs keystage aup status over the whole school.
func BenchmarkAUPStatus(b *testing.B) {
	dir, n := aupBenchDir(b)
	b.ResetTimer()
	for b.Loop() {
		var errOut strings.Builder
		if code := run([]string{"--data", dir, "aup", "status"}, strings.NewReader(""), io.Discard, &errOut); code != 0 {
			b.Fatalf("aup status: %d %s", code, errOut.String())
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "people/s")
}
