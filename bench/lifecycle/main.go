// Command lifecycle measures the MIS sync: it writes a synthetic OneRoster
// export of a school of -n people, syncs it into a fresh store (plan, then
// apply: every person a starter), then writes the next export with a
// share of movers, leavers and starters (-delta) as a OneRoster delta and
// syncs that too. It prints each phase's time and the Go heap's peak; run
// it under /usr/bin/time -v for the process's maximum resident set.
//
//	go build -o /tmp/bench-lifecycle ./bench/lifecycle
//	/usr/bin/time -v /tmp/bench-lifecycle -n 200000 -delta 0.01
//
// It writes only under -dir (default: a temporary directory, removed).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle"
	"keystage.dev/keystage/lifecycle/exportgen"
	"keystage.dev/keystage/lifecycle/schoolgen"
)

func main() {
	n := flag.Int("n", 2000, "people in the school")
	delta := flag.Float64("delta", 0.01, "share of movers, of leavers and of starters in the second export")
	dir := flag.String("dir", "", "working `directory` (default: a temporary one, removed)")
	db := flag.String("db", "", "store URL (default: SQLite in the working directory; postgres://… for PostgreSQL, an empty database)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this `file`")
	memprofile := flag.String("memprofile", "", "write a heap profile to this `file` after the first plan")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	heapProfile = *memprofile
	if err := run(*n, *delta, *dir, *db); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench lifecycle:", err)
		os.Exit(1)
	}
}

// heapProfile, when set, is where the first plan's heap profile goes.
var heapProfile string

// peak samples the Go heap in use, since runtime.MemStats has no high-water mark.
type peak struct{ max atomic.Uint64 }

func (p *peak) watch(ctx context.Context) {
	var ms runtime.MemStats
	for {
		runtime.ReadMemStats(&ms)
		if v := ms.HeapInuse; v > p.max.Load() {
			p.max.Store(v)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func run(n int, share float64, dir, db string) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "bench-lifecycle")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if db == "" {
		db = "sqlite:" + filepath.Join(dir, "keystage.db")
	}
	var pk peak
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go pk.watch(wctx)

	people := schoolgen.People(schoolgen.Large(n))
	bulk := filepath.Join(dir, "bulk")
	t0 := time.Now()
	if err := exportgen.WriteOneRoster(bulk, people, exportgen.Options{}); err != nil {
		return err
	}
	fmt.Printf("people %d; export written in %s\n", len(people), time.Since(t0).Round(time.Millisecond))
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: db})
	if err != nil {
		return err
	}
	defer s.Close()
	// The clock is the day after the leavers' leave date, so that they are
	// disabled in the delta's apply.
	now := time.Date(2026, 9, 1, 6, 0, 0, 0, time.UTC)
	eng := &lifecycle.Engine{Dir: directory.New(s, directory.Config{Now: func() time.Time { return now }}),
		Policy: lifecycle.Policy{MassChange: 0.05}}
	if err := phase(ctx, eng, "full sync into an empty directory", "oneroster:"+bulk, &pk); err != nil {
		return err
	}
	ch := exportgen.Mutate(people, exportgen.Mutation{Seed: 2, Movers: share, Leavers: share, Starters: share})
	fmt.Printf("next export: %d movers, %d leavers, %d starters\n", len(ch.Movers), len(ch.Leavers), len(ch.Starters))
	deltaDir := filepath.Join(dir, "delta")
	if err := exportgen.WriteOneRosterDelta(deltaDir, ch, ch.Options(time.Date(2026, 8, 31, 8, 0, 0, 0, time.UTC))); err != nil {
		return err
	}
	if err := phase(ctx, eng, "delta sync", "oneroster:"+deltaDir, &pk); err != nil {
		return err
	}
	bulk2 := filepath.Join(dir, "bulk2")
	if err := exportgen.WriteOneRoster(bulk2, ch.After, ch.Options(time.Date(2026, 8, 31, 8, 0, 0, 0, time.UTC))); err != nil {
		return err
	}
	if err := phase(ctx, eng, "bulk re-sync, no change", "oneroster:"+bulk2, &pk); err != nil {
		return err
	}
	stop()
	fmt.Printf("Go heap in use, peak: %.0f MiB\n", float64(pk.max.Load())/(1<<20))
	return nil
}

// cpu is the process's user and system CPU time so far: on a shared
// machine it says what a phase cost when the wall clock cannot.
func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func phase(ctx context.Context, eng *lifecycle.Engine, name, spec string, pk *peak) error {
	src, err := lifecycle.Open(spec, lifecycle.ReadOptions{})
	if err != nil {
		return err
	}
	t0, c0 := time.Now(), cpu()
	exp, err := src.Read(ctx)
	if err != nil {
		return err
	}
	read := time.Since(t0)
	t1, c1 := time.Now(), cpu()
	p, err := eng.PlanSync(ctx, exp, lifecycle.SyncOptions{})
	if err != nil {
		return err
	}
	plan := time.Since(t1)
	if heapProfile != "" {
		if f, err := os.Create(heapProfile); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
		heapProfile = ""
	}
	if p.Blocked != "" {
		return fmt.Errorf("%s: blocked: %s", name, p.Blocked)
	}
	t2, c2 := time.Now(), cpu()
	run, err := eng.Apply(ctx, p, "bench")
	if err != nil {
		return err
	}
	apply, c3 := time.Since(t2), cpu()
	fmt.Printf("%s: %d records; wall (CPU): read %s (%s), plan %s (%s), apply %s (%s); counts %v; heap peak so far %.0f MiB\n", name, len(exp.Records),
		read.Round(time.Millisecond), (c1 - c0).Round(time.Millisecond), plan.Round(time.Millisecond), (c2 - c1).Round(time.Millisecond),
		apply.Round(time.Millisecond), (c3 - c2).Round(time.Millisecond), run.Counts, float64(pk.max.Load())/(1<<20))
	return nil
}
