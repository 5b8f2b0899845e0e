package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/server"
)

// buildRADIUS makes the RADIUS frontend when the configuration enables it.
// The ports are bound when it serves, so that building it (as demo
// --no-serve does to print the hints) holds nothing.
func buildRADIUS(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	rc := cfg.RADIUS
	if !rc.Enabled {
		return nil, nil
	}
	rcfg := radius.Config{
		Policies:       rc.policies(),
		QuarantineVLAN: rc.QuarantineVLAN,
		ReplyMessages:  rc.ReplyMessages,
		Realms:         rc.Realms,
		Location:       cfg.Location(),
		Retention:      time.Duration(rc.RetentionDays) * 24 * time.Hour,
		FactsTTL:       rc.FactsTTL.Duration,
	}
	if rc.Realms == nil && cfg.LDAP.Domain != "" {
		rcfg.Realms = []string{cfg.LDAP.Domain}
	}
	if rcfg.FactsTTL == 0 {
		rcfg.FactsTTL = -1 // 0s in the file means no cache
	}
	handler := &radius.EAPEngine{}
	rcfg.EAP = handler
	if e.webfilter != nil {
		rcfg.Accounting = webFilterSink{e.webfilter}
	}
	srv, err := radius.New(e.ctx, d.Store(), d, d, rcfg)
	if err != nil {
		return nil, err
	}
	ecfg, eapOn, err := eapConfig(rc.EAP)
	if err != nil {
		return nil, err
	}
	if eapOn {
		if err := handler.Start(srv, ecfg, e.logger()); err != nil {
			return nil, err
		}
	}
	engine := handler.Engine()
	d.OnAccessEnded(srv.AccessEnded)
	hints := radiusHints(e.ctx, d, rc.AuthAddress, rc.AcctAddress)
	if engine != nil && rc.EAP.CertFile != "" && e.demoDir != "" {
		more, err := demoEAPHints(e, d, rc)
		if err != nil {
			return nil, err
		}
		hints = append(hints, more...)
	}
	return &server.Frontend{
		Name:  "RADIUS",
		Addrs: []string{"auth " + rc.AuthAddress, "acct " + rc.AcctAddress},
		Hints: hints,
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
			auth, err := net.ListenPacket("udp", rc.AuthAddress)
			if err != nil {
				return err
			}
			acct, err := net.ListenPacket("udp", rc.AcctAddress)
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

// demoEAPHints writes eapol_test configurations for the demo pupil and
// returns the commands that run them.
func demoEAPHints(e *env, d *directory.Directory, rc RADIUSSection) ([]string, error) {
	a, err := d.Store().AccountByMISID(e.ctx, demoPupilMIS)
	if err != nil {
		return nil, nil
	}
	cred, err := d.WiFiSecret(e.ctx, a)
	if err != nil {
		return nil, nil
	}
	caFile := filepath.Join(e.demoDir, demoCA)
	return eapolConfigs(e.demoDir, a.Username, cred, caFile, demoRADIUSName, rc.AuthAddress)
}

// radiusHints are radtest and radclient lines for the demo pupil, with
// their Wi-Fi credential (not their login password), against the demo NAS
// client. Outside the demo there is no such pupil and no hint.
func radiusHints(ctx context.Context, d *directory.Directory, auth, acct string) []string {
	a, err := d.Store().AccountByMISID(ctx, demoPupilMIS)
	if err != nil {
		return nil
	}
	cred, err := d.WiFiSecret(ctx, a)
	if err != nil {
		return nil
	}
	return []string{
		fmt.Sprintf("# %s's Wi-Fi credential is %s (keystage wifi show %s)", a.Username, cred, a.Username),
		fmt.Sprintf("radtest -t pap %s %s %s 0 %s", a.Username, cred, auth, demoNASSecret),
		fmt.Sprintf("radtest -t mschap %s %s %s 0 %s", a.Username, cred, auth, demoNASSecret),
		fmt.Sprintf("radtest -t pap %s wrong-password %s 0 %s   # Access-Reject", a.Username, auth, demoNASSecret),
		fmt.Sprintf(`printf 'User-Name = %s\nAcct-Status-Type = Start\nAcct-Session-Id = demo-1\nCalling-Station-Id = 02-00-00-00-00-01\n' | radclient %s acct %s`,
			a.Username, acct, demoNASSecret),
	}
}

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
