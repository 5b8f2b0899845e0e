package server

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/eap"
)

// RADIUSConfig is the RADIUS frontend: the server's settings, its ports
// and EAP.
type RADIUSConfig struct {
	// Server is the RADIUS server's settings; its EAP handler is set here.
	Server radius.Config
	// AuthAddress and AcctAddress are the authentication and accounting
	// ports (UDP), bound when the frontend serves.
	AuthAddress, AcctAddress string
	// EAP is the EAP methods and certificate; nil: no EAP.
	EAP *eap.Config
	// Log takes the EAP engine's log.
	Log *slog.Logger
}

// RADIUS makes the RADIUS frontend over d. The ports are bound when it
// serves, so that building it (as demo --no-serve does to print the hints)
// holds nothing. ctx bounds the server's background work.
func RADIUS(ctx context.Context, d *directory.Directory, c RADIUSConfig) (*Frontend, error) {
	rcfg := c.Server
	handler := &radius.EAPEngine{}
	rcfg.EAP = handler
	srv, err := radius.New(ctx, d.Store(), d, d, rcfg)
	if err != nil {
		return nil, err
	}
	if c.EAP != nil {
		if err := handler.Start(srv, *c.EAP, c.Log); err != nil {
			return nil, err
		}
	}
	engine := handler.Engine()
	d.OnAccessEnded(srv.AccessEnded)
	return &Frontend{
		Name:  "RADIUS",
		Addrs: []string{"auth " + c.AuthAddress, "acct " + c.AcctAddress},
		Metrics: func(reg prometheus.Registerer) error {
			if err := reg.Register(radiusCollector{srv}); err != nil {
				return err
			}
			if engine == nil {
				return nil
			}
			if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "keystage_eap_conversations",
				Help: "EAP (PEAP, TTLS) conversations in progress on this node; they cannot move to another node.",
			}, func() float64 { return float64(engine.Conversations()) })); err != nil {
				return err
			}
			return reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "keystage_eap_conversations_ended_early_total",
				Help: "EAP conversations that had not answered their first request, ended to make room for new ones (a flood of sign-ins through one NAS or device).",
			}, func() float64 { return float64(engine.Evicted()) }))
		},
		Serve: func(ctx context.Context) error {
			auth, err := net.ListenPacket("udp", c.AuthAddress)
			if err != nil {
				return err
			}
			acct, err := net.ListenPacket("udp", c.AcctAddress)
			if err != nil {
				auth.Close()
				return err
			}
			if engine != nil {
				defer engine.Close()
				go engine.RunSweeps(ctx, eapSweepEvery)
			}
			return srv.Serve(ctx, auth, acct)
		},
	}, nil
}

// eapSweepEvery is how often abandoned EAP conversations are freed on a
// quiet server.
const eapSweepEvery = 30 * time.Second

// radiusCollector exports the RADIUS server's counters.
type radiusCollector struct{ srv *radius.Server }

var (
	radiusRequestsDesc = prometheus.NewDesc("keystage_radius_requests_total",
		"RADIUS requests that passed the checks, by port.", []string{"port"}, nil)
	radiusRepliesDesc = prometheus.NewDesc("keystage_radius_replies_total",
		"RADIUS replies sent, by code (retransmissions answered from the cache not included).", []string{"code"}, nil)
	radiusDroppedDesc = prometheus.NewDesc("keystage_radius_dropped_total",
		"RADIUS packets dropped without a reply, by reason.", []string{"reason"}, nil)
	radiusRetransmitsDesc = prometheus.NewDesc("keystage_radius_retransmits_total",
		"Retransmitted requests, answered from the reply cache (cached) or dropped while the first copy was answered (in_flight).", []string{"how"}, nil)
	radiusDisconnectsDesc = prometheus.NewDesc("keystage_radius_disconnects_total",
		"Disconnect-Requests sent to NASes, by answer.", []string{"answer"}, nil)
)

func (c radiusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{radiusRequestsDesc, radiusRepliesDesc, radiusDroppedDesc, radiusRetransmitsDesc, radiusDisconnectsDesc} {
		ch <- d
	}
}

func (c radiusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	counter := func(d *prometheus.Desc, v uint64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label)
	}
	counter(radiusRequestsDesc, st.AccessRequests, "auth")
	counter(radiusRequestsDesc, st.AccountingRequests, "acct")
	counter(radiusRepliesDesc, st.Accepts, "access-accept")
	counter(radiusRepliesDesc, st.Rejects, "access-reject")
	counter(radiusRepliesDesc, st.Challenges, "access-challenge")
	counter(radiusRepliesDesc, st.AccountingReplies, "accounting-response")
	counter(radiusDroppedDesc, st.DroppedUnknownClient, "unknown-client")
	counter(radiusDroppedDesc, st.DroppedMalformed, "malformed")
	counter(radiusDroppedDesc, st.DroppedNoMsgAuth, "no-message-authenticator")
	counter(radiusDroppedDesc, st.DroppedBadMsgAuth, "bad-message-authenticator")
	counter(radiusDroppedDesc, st.DroppedBadAuth, "bad-request-authenticator")
	counter(radiusDroppedDesc, st.DroppedCode, "unexpected-code")
	counter(radiusDroppedDesc, st.DroppedOverload, "overload")
	counter(radiusDroppedDesc, st.DroppedInternal, "internal")
	counter(radiusRetransmitsDesc, st.Retransmits, "cached")
	counter(radiusRetransmitsDesc, st.InFlight, "in_flight")
	counter(radiusDisconnectsDesc, st.DisconnectACKs, "ack")
	counter(radiusDisconnectsDesc, st.DisconnectNAKs, "nak")
	counter(radiusDisconnectsDesc, st.DisconnectNoAnswers, "no-answer")
}
