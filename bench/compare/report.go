package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// row is one test's runs on both sides.
type row struct {
	test     test
	ks, them []result
}

// compare runs each test for o.rounds rounds, Keystage then the other in
// every round, so that whatever else the machine is doing falls on both.
func compare(ctx context.Context, o options, env *environment, sv *servers, tests []test) []row {
	var rows []row
	for _, t := range tests {
		r := row{test: t}
		for round := 1; round <= o.rounds && ctx.Err() == nil; round++ {
			sides := []func() (worker, error){t.ks(sv, env)}
			if t.them != nil {
				sides = append(sides, t.them(sv, env))
			}
			for side, w := range sides {
				srv := sv.keystage
				if side == 1 {
					srv = sv.other(t)
				}
				before := cpuTime(srv)
				res := drive(ctx, o.clients, o.requests, o.duration, env.sample, w)
				if before > 0 {
					res.CPU = cpuTime(srv) - before
				}
				name := "Keystage"
				if side == 0 {
					r.ks = append(r.ks, res)
				} else {
					name = t.other
					r.them = append(r.them, res)
				}
				line := fmt.Sprintf("%-8s round %d %-10s %6d ok %4d failed in %5.1fs: %7.0f/s  p50 %-9s p99 %s",
					t.name, round, name, res.OK, res.Failed, res.Elapsed.Seconds(), res.rate(), ms(res.pct(0.5)), ms(res.pct(0.99)))
				if res.FirstErr != nil {
					line += "  first failure: " + res.FirstErr.Error() + "; by kind: " + kinds(res.Kinds)
				}
				fmt.Println(line)
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// printTable prints the medians over the rounds as a Markdown table.
func printTable(w io.Writer, o options, env *environment, rows []row) {
	fmt.Fprintf(w, "%d people, %d staff sampled, %d clients, %d rounds of up to %d requests or %s each; medians over the rounds\n\n",
		len(env.people), len(env.sample), o.clients, o.rounds, o.requests, o.duration)
	fmt.Fprintln(w, "| test | other | Keystage req/s | other req/s | Keystage/other | Keystage p50 | other p50 | Keystage p99 | other p99 | Keystage CPU/req | other CPU/req | failed (K/o) |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		kr, tr := median(r.ks, result.rate), median(r.them, result.rate)
		ratio := "—"
		if tr > 0 {
			ratio = fmt.Sprintf("%.2f", kr/tr)
		}
		p := func(rs []result, q float64) string {
			return ms(time.Duration(median(rs, func(x result) float64 { return float64(x.pct(q)) })))
		}
		cpu := func(rs []result) string {
			d := time.Duration(median(rs, func(x result) float64 { return float64(x.cpuPerRequest()) }))
			if d <= 0 {
				return "—"
			}
			return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %d/%d |\n", r.test.name, r.test.other, kr, tr, ratio,
			p(r.ks, 0.5), p(r.them, 0.5), p(r.ks, 0.99), p(r.them, 0.99), cpu(r.ks), cpu(r.them), failures(r.ks), failures(r.them))
	}
}

func median(rs []result, f func(result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func failures(rs []result) int {
	n := 0
	for _, r := range rs {
		n += r.Failed
	}
	return n
}

// ms writes a latency in milliseconds, to two decimals below 10 ms.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// kinds lists failure counts by kind, most first.
func kinds(m map[string]int) string {
	type kc struct {
		k string
		n int
	}
	var l []kc
	for k, n := range m {
		l = append(l, kc{k, n})
	}
	slices.SortFunc(l, func(a, b kc) int { return b.n - a.n })
	var parts []string
	for _, x := range l {
		parts = append(parts, fmt.Sprintf("%d× %s", x.n, x.k))
	}
	return strings.Join(parts, ", ")
}
