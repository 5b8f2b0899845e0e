//go:build unix

package lifecycle_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/lifecycle/exportgen"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

// BenchmarkRead reads synthetic exports of 2,000 and 200,000 people (one
// staff member to ten pupils, six classes a pupil) in both formats.
func BenchmarkRead(b *testing.B) {
	for _, n := range []int{2000, 200000} {
		people := schoolgen.People(schoolgen.Large(n))
		dir := b.TempDir()
		if err := exportgen.WriteOneRoster(filepath.Join(dir, "oneroster"), people, exportgen.Options{}); err != nil {
			b.Fatal(err)
		}
		if err := exportgen.WriteCSVFile(filepath.Join(dir, "report.csv"), people, exportgen.Options{}); err != nil {
			b.Fatal(err)
		}
		for _, spec := range []string{"oneroster:" + filepath.Join(dir, "oneroster"), "csv:" + filepath.Join(dir, "report.csv")} {
			kind, _, _ := strings.Cut(spec, ":")
			b.Run(fmt.Sprintf("%s-%d", kind, n), func(b *testing.B) {
				src, err := lifecycle.Open(spec, lifecycle.ReadOptions{Mapping: exportgen.Mapping()})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				var exp *lifecycle.Export
				cpu0 := cpuTime(b)
				for b.Loop() {
					exp, err = src.Read(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if len(exp.Records) != n {
						b.Fatalf("%d records, want %d", len(exp.Records), n)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "people/s")
				// CPU time (all threads, the collector's included) says more
				// than wall time on a machine shared with other work.
				b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
				b.StopTimer()
				// What the export holds once read: the memory a sync keeps
				// while it plans.
				var before, after runtime.MemStats
				exp = nil
				runtime.GC()
				runtime.ReadMemStats(&before)
				exp, _ = src.Read(context.Background())
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-held")
				runtime.KeepAlive(exp)
			})
		}
	}
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
