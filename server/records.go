package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory"
)

// Records keeps the sign-ins' operational records (the lockout's counters
// and familiar sources, the last uses) in memory and writes them in
// batches, off the requests' way (directory.Directory.RunRecords).
func Records(d *directory.Directory) *Frontend {
	return &Frontend{Name: "sign-in records", Serve: d.RunRecords}
}

// View loads the in-memory read side of the hot paths and keeps it current
// (directory.View); until it has loaded, and whenever the change feed
// falls behind, reads go to the store.
func View(v *directory.View) *Frontend {
	return &Frontend{
		Name:  "in-memory view",
		Serve: v.Run,
		Metrics: func(reg prometheus.Registerer) error {
			return reg.Register(viewCollector{v})
		},
	}
}

type viewCollector struct{ v *directory.View }

var (
	viewFreshDesc = prometheus.NewDesc("keystage_view_fresh",
		"1 while the in-memory view answers the hot paths' reads (loaded, and the change feed caught up within 2 s); 0 while they go to the database.", nil, nil)
	viewAccountsDesc = prometheus.NewDesc("keystage_view_accounts",
		"Accounts held in the in-memory view.", nil, nil)
	viewBehindDesc = prometheus.NewDesc("keystage_view_reads_behind_total",
		"Reads of an account sent to the database because the in-memory view was not loaded or not caught up.", nil, nil)
)

func (c viewCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- viewFreshDesc
	ch <- viewAccountsDesc
	ch <- viewBehindDesc
}

func (c viewCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(viewFreshDesc, prometheus.GaugeValue, boolFloat(c.v.Fresh()))
	ch <- prometheus.MustNewConstMetric(viewAccountsDesc, prometheus.GaugeValue, float64(c.v.Accounts()))
	ch <- prometheus.MustNewConstMetric(viewBehindDesc, prometheus.CounterValue, float64(c.v.ReadsBehind()))
}
