package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/webfilter"
)

// WebFilterConfig is the web filter's forwarder and feed.
type WebFilterConfig struct {
	// Forwarder is the forwarder's settings: its receivers, queues and
	// the LDAP announcement.
	Forwarder webfilter.Config
	// FeedListen is the feed's address; empty: no feed.
	FeedListen string
	// FeedTLSCert and FeedTLSKey (PEM) serve the feed over HTTPS; empty:
	// plain HTTP.
	FeedTLSCert, FeedTLSKey string
	// FeedTokens are the filters that may read the feed.
	FeedTokens []webfilter.Token
}

// WebFilter makes the web filter's forwarder and feed over d. The
// forwarder is returned for the RADIUS and LDAP frontends (see
// WebFilterSink, ldapserver.Config.Bound), which must be built after it.
func WebFilter(d *directory.Directory, c WebFilterConfig) (*Frontend, *webfilter.Forwarder, error) {
	fw, err := webfilter.New(c.Forwarder, d.Store())
	if err != nil {
		return nil, nil, err
	}
	d.OnAccessEnded(fw.AccessEnded)

	f := &Frontend{Name: "web filter", Close: fw.Close}
	for _, r := range c.Forwarder.Receivers {
		f.Addrs = append(f.Addrs, "receiver "+r.Name+" "+r.Address)
	}
	var ln net.Listener
	var srv *http.Server
	if c.FeedListen != "" {
		mux := http.NewServeMux()
		mux.Handle(webfilter.FeedPath+"/", fw.NewFeed(d.Store(), c.FeedTokens, c.Forwarder.Announce.Policy))
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
		if ln, err = net.Listen("tcp", c.FeedListen); err != nil {
			fw.Close()
			return nil, nil, fmt.Errorf("webfilter.feed.listen: %w", err)
		}
		ln = webfilter.LimitListener(ln, 64, 8)
		scheme := "http"
		if c.FeedTLSCert != "" {
			scheme = "https"
		}
		f.Addrs = append(f.Addrs, "feed "+scheme+"://"+ln.Addr().String()+webfilter.FeedPath+"/")
	}
	f.Close = func() error {
		if ln != nil {
			ln.Close()
		}
		return fw.Close()
	}
	f.Metrics = func(reg prometheus.Registerer) error { return reg.Register(webFilterCollector{fw}) }
	// Serving leaves the queues open: the RADIUS frontend may still append
	// to them while it shuts down, and the next start reads them.
	f.Serve = func(ctx context.Context) error {
		errs := make(chan error, 1)
		if srv != nil {
			go func() {
				var err error
				if c.FeedTLSCert != "" {
					err = srv.ServeTLS(ln, c.FeedTLSCert, c.FeedTLSKey)
				} else {
					err = srv.Serve(ln)
				}
				if !errors.Is(err, http.ErrServerClosed) {
					errs <- fmt.Errorf("web filter feed: %w", err)
				}
			}()
		}
		runCtx, stop := context.WithCancel(ctx)
		defer stop()
		done := make(chan error, 1)
		go func() { done <- fw.Run(runCtx) }()
		var err error
		select {
		case <-ctx.Done():
		case err = <-errs:
		}
		stop()
		if srv != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			srv.Shutdown(sctx)
			cancel()
		}
		<-done
		return err
	}
	return f, fw, nil
}

// WebFilterSink hands the RADIUS frontend's accounting to the forwarder.
type WebFilterSink struct{ Forwarder *webfilter.Forwarder }

func (s WebFilterSink) Accounted(ctx context.Context, a radius.Accounting) {
	x := a.Session
	e := webfilter.Event{Status: webfilter.Status(a.Status), Source: webfilter.SourceRADIUS, At: a.At,
		Username: x.Username, SessionID: x.SessionID, FramedIP: x.FramedIP, CallingStation: x.CallingStation,
		CalledStation: x.CalledStation, NASName: x.NASName, NASAddress: x.NASAddress, StartedAt: x.StartedAt,
		TerminateCause: x.TerminateCause, Groups: a.Groups, FilterID: a.Policy.FilterID, Class: a.Policy.Class}
	if a.Disconnect {
		e.Source = webfilter.SourceDisconnect
	}
	s.Forwarder.Enqueue(e)
}

// webFilterCollector exports each receiver's queue.
type webFilterCollector struct{ fw *webfilter.Forwarder }

var (
	webFilterQueuedDesc = prometheus.NewDesc("keystage_webfilter_queued",
		"Events waiting on disk for a web filter receiver.", []string{"receiver"}, nil)
	webFilterSentDesc = prometheus.NewDesc("keystage_webfilter_sent_total",
		"Events a web filter receiver acknowledged.", []string{"receiver"}, nil)
	webFilterDroppedDesc = prometheus.NewDesc("keystage_webfilter_dropped_total",
		"Events dropped, oldest first, from a web filter receiver's full queue.", []string{"receiver"}, nil)
	webFilterFailuresDesc = prometheus.NewDesc("keystage_webfilter_send_failures_total",
		"Sends to a web filter receiver that got no answer (each is retried).", []string{"receiver"}, nil)
	webFilterUpDesc = prometheus.NewDesc("keystage_webfilter_receiver_up",
		"1 when the last send to the receiver was answered.", []string{"receiver"}, nil)
)

func (c webFilterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{webFilterQueuedDesc, webFilterSentDesc, webFilterDroppedDesc, webFilterFailuresDesc, webFilterUpDesc} {
		ch <- d
	}
}

func (c webFilterCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.fw.Stats() {
		up := 0.0
		if st.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(webFilterQueuedDesc, prometheus.GaugeValue, float64(st.Queued), st.Name)
		ch <- prometheus.MustNewConstMetric(webFilterSentDesc, prometheus.CounterValue, float64(st.Sent), st.Name)
		ch <- prometheus.MustNewConstMetric(webFilterDroppedDesc, prometheus.CounterValue, float64(st.Dropped), st.Name)
		ch <- prometheus.MustNewConstMetric(webFilterFailuresDesc, prometheus.CounterValue, float64(st.Failures), st.Name)
		ch <- prometheus.MustNewConstMetric(webFilterUpDesc, prometheus.GaugeValue, up, st.Name)
	}
}
