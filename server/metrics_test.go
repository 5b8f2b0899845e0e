package server

import (
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory"
)

// A lockout is counted by kind, never by the name or address locked.
func TestLockoutMetricKinds(t *testing.T) {
	m := newRequestMetrics()
	for _, key := range []string{directory.AccountKey("jsmith"), directory.SourceKey("ldap:10.0.0.7"), directory.UnfamiliarKey("jsmith")} {
		m.locked(key)
	}
	reg := prometheus.NewRegistry()
	if err := m.register(reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "keystage_lockouts_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				got[lp.GetValue()] = mt.GetCounter().GetValue()
			}
		}
	}
	if want := map[string]float64{"account": 1, "source": 1, "unfamiliar": 1}; !maps.Equal(got, want) {
		t.Errorf("lockouts by kind: %v, want %v", got, want)
	}
}

// BenchmarkObserve is what counting and timing one request costs.
func BenchmarkObserve(b *testing.B) {
	m := newRequestMetrics()
	o := directory.Outcome{Service: directory.ServiceWiFi, Op: "pap", Result: directory.ResultRefused, Reason: directory.ReasonSuspended, Took: 3 * time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.observe(o)
		}
	})
}

// TestObserveAllocatesNothing: counting a request whose label set was seen
// before allocates nothing, so that the metrics add no garbage to every
// RADIUS and LDAP request.
func TestObserveAllocatesNothing(t *testing.T) {
	m := newRequestMetrics()
	o := directory.Outcome{Service: directory.ServiceWiFi, Op: "pap", Result: directory.ResultOK, Took: time.Millisecond}
	m.observe(o)
	if n := testing.AllocsPerRun(100, func() { m.observe(o) }); n != 0 {
		t.Errorf("observe allocated %v times a request, want none", n)
	}
}
