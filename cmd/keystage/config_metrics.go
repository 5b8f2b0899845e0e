package main

import (
	"net"
)

// MetricsSection configures the Prometheus and health endpoint.
type MetricsSection struct {
	// Listen is where /metrics and /healthz are served; empty: off. Keep
	// it on a management network: the figures say who uses the network.
	Listen string `toml:"listen"`
}

const exampleMetrics = `
[metrics]
# Prometheus metrics at /metrics and a health check for load balancers at
# /healthz (200 while the database answers and the key file opens its
# secrets). Empty: off.
listen = ""   # e.g. "127.0.0.1:9464"
`

func (m *MetricsSection) validate(p *problems) {
	if m.Listen == "" {
		return
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		p.add("metrics.listen %q: want host:port", m.Listen)
	}
}
