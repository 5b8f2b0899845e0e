//go:build unix

package lifecycle_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/lifecycle/exportgen"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

// BenchmarkReadTrust reads a synthetic OneRoster export of 20,000 people
// without and with their orgs (the second pass over users.csv a trust
// makes), and splits it by org: what a trust's sync adds to a school's.
func BenchmarkReadTrust(b *testing.B) {
	const n = 20000
	dir := filepath.Join(b.TempDir(), "oneroster")
	if err := exportgen.WriteOneRoster(dir, schoolgen.People(schoolgen.Large(n)), exportgen.Options{}); err != nil {
		b.Fatal(err)
	}
	for _, orgs := range []bool{false, true} {
		b.Run(fmt.Sprintf("orgs=%v", orgs), func(b *testing.B) {
			src, err := lifecycle.Open("oneroster:"+dir, lifecycle.ReadOptions{Orgs: orgs})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				exp, err := src.Read(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if orgs {
					part, err := lifecycle.SplitByOrg(exp, "s", []string{"org-school"})
					if err != nil || len(part.Records) != n {
						b.Fatalf("split: %v", err)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "people/s")
			// CPU time says more than wall time on a shared machine.
			b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
