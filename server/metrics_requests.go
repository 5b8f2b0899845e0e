package server

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory"
)

// requestMetrics are the collectors that the frontends, the lockout and the
// scheduled jobs feed through the directory's hooks (Directory.Observer,
// Lockout.OnLock, Directory.JobObserver). They belong to one registry, made
// per keystage serve: nothing here is package state.
type requestMetrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	lockouts   *prometheus.CounterVec
	jobRuns    *prometheus.CounterVec
	jobSeconds *prometheus.HistogramVec

	// series holds the counter and histogram of each label set seen, so
	// that a request costs one map read instead of hashing its labels
	// twice (the label sets are few: frontends × ops × results × reasons).
	// A map under a lock rather than a sync.Map, whose key is an interface:
	// boxing the key allocated on every request.
	seriesMu sync.RWMutex
	series   map[outcomeKey]requestSeries
}

type outcomeKey struct {
	svc    directory.Service
	op     string
	result string
	reason directory.Reason
}

type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// The buckets run from a cached RADIUS answer (well under a millisecond)
// to an argon2id bind on a busy machine (a second or more).
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

func newRequestMetrics() *requestMetrics {
	return &requestMetrics{
		series: make(map[outcomeKey]requestSeries),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keystage_requests_total",
			Help: "Requests answered, by frontend (ldap, wifi for RADIUS, portal), operation, result and the gate's reason when refused.",
		}, []string{"frontend", "op", "result", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keystage_request_duration_seconds",
			Help:    "Time to answer a request, by frontend and operation.",
			Buckets: latencyBuckets,
		}, []string{"frontend", "op"}),
		lockouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keystage_lockouts_total",
			Help: "Failed sign-ins that locked a counter (a lock begun or lengthened), by kind: account (familiar sources), unfamiliar (new sources together), source.",
		}, []string{"kind"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keystage_job_runs_total",
			Help: "Scheduled job runs on this node, by job and result (ok, error, skipped: another node held the lock, refused: a mass change left for a technician).",
		}, []string{"job", "result"}),
		jobSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "keystage_job_duration_seconds",
			Help:    "Time a scheduled job ran on this node, by job.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 8), // 0.1 s to about 27 min
		}, []string{"job"}),
	}
}

func (m *requestMetrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.lockouts, m.jobRuns, m.jobSeconds} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// attach makes d's hooks feed these collectors.
func (m *requestMetrics) attach(d *directory.Directory) {
	d.OnOutcome(m.observe)
	d.OnJobRun(m.observeJob)
	if d.Lockout() != nil {
		d.Lockout().OnLock = m.locked
	}
}

func (m *requestMetrics) observe(o directory.Outcome) {
	k := outcomeKey{o.Service, o.Op, o.Result, o.Reason}
	m.seriesMu.RLock()
	rs, ok := m.series[k]
	m.seriesMu.RUnlock()
	if !ok {
		svc := string(o.Service)
		m.seriesMu.Lock()
		if rs, ok = m.series[k]; !ok {
			rs = requestSeries{
				count:   m.requests.WithLabelValues(svc, o.Op, o.Result, string(o.Reason)),
				latency: m.latency.WithLabelValues(svc, o.Op),
			}
			m.series[k] = rs
		}
		m.seriesMu.Unlock()
	}
	rs.count.Inc()
	rs.latency.Observe(o.Took.Seconds())
}

func (m *requestMetrics) observeJob(job, result string, took time.Duration) {
	m.jobRuns.WithLabelValues(job, result).Inc()
	if result != directory.ResultSkipped {
		m.jobSeconds.WithLabelValues(job).Observe(took.Seconds())
	}
}

func (m *requestMetrics) locked(key string) {
	// The kind only (account, unfamiliar or source), never the name or
	// the address itself.
	m.lockouts.WithLabelValues(directory.KeyKind(key)).Inc()
}
