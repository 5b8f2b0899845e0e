package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/server"
	"keystage.dev/keystage/webfilter"
)

// buildWebFilter makes the web filter's forwarder and feed when the
// configuration names a receiver, the LDAP announcement or the feed. It
// runs first, so that the RADIUS and LDAP builders find it in e.webfilter.
func buildWebFilter(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	e.webfilter = nil
	c := cfg.WebFilter
	if len(c.Receivers) == 0 && !c.LDAP.Announce && c.Feed.Listen == "" {
		return nil, nil
	}
	wcfg := webfilter.Config{QueueDir: c.queueDir(cfg.DataDir), Log: e.logger(), Now: d.Now}
	for _, r := range c.Receivers {
		secret, err := r.secret()
		if err != nil {
			return nil, err
		}
		wcfg.Receivers = append(wcfg.Receivers, r.receiver(secret))
	}
	exclude, err := parsePrefixes(c.LDAP.ExcludeAddresses)
	if err != nil {
		return nil, fmt.Errorf("webfilter.ldap.exclude_addresses: %w", err)
	}
	// An address exempt from the LDAP lockout is an application server
	// binding for many people: never one person's address.
	if more, err := cfg.LDAP.lockoutExempt(); err == nil {
		exclude = append(exclude, more...)
	}
	policy := webFilterPolicy(cfg)
	wcfg.Announce = webfilter.Announce{Enabled: c.LDAP.Announce, Lifetime: c.LDAP.Lifetime.Duration, Exclude: exclude,
		ExcludeUsers: c.LDAP.ExcludeUsers, Policy: policy}
	fw, err := webfilter.New(wcfg, d.Store())
	if err != nil {
		return nil, err
	}
	d.OnAccessEnded(fw.AccessEnded)
	e.webfilter = fw

	f := &server.Frontend{Name: "web filter", Close: fw.Close}
	for _, r := range c.Receivers {
		f.Addrs = append(f.Addrs, "receiver "+r.Name+" "+r.Address)
	}
	var ln net.Listener
	var srv *http.Server
	if c.Feed.Listen != "" {
		var tokens []webfilter.Token
		for _, t := range c.Feed.Tokens {
			h, err := webfilter.ParseTokenHash(t.SHA256)
			if err != nil {
				fw.Close()
				return nil, fmt.Errorf("webfilter.feed.token %s: %w", t.Name, err)
			}
			tokens = append(tokens, webfilter.Token{Name: t.Name, SHA256: h, History: t.History})
		}
		mux := http.NewServeMux()
		mux.Handle(webfilter.FeedPath+"/", fw.NewFeed(d.Store(), tokens, policy))
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
		if ln, err = net.Listen("tcp", c.Feed.Listen); err != nil {
			fw.Close()
			return nil, fmt.Errorf("webfilter.feed.listen: %w", err)
		}
		ln = webfilter.LimitListener(ln, 64)
		scheme := "http"
		if c.Feed.TLSCert != "" {
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
				if c.Feed.TLSCert != "" {
					err = srv.ServeTLS(ln, c.Feed.TLSCert, c.Feed.TLSKey)
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
	return f, nil
}

// webFilterPolicy gives the Filter-Id and Class of a person's groups as the
// RADIUS policy does, so that the filter hears what the access point was
// told.
func webFilterPolicy(cfg *Config) func(groups []string) (string, string) {
	ps := cfg.RADIUS.policies()
	return func(groups []string) (string, string) {
		p, _ := radius.PolicyFor(ps, groups)
		return p.FilterID, p.Class
	}
}

// webFilterSink hands the RADIUS frontend's accounting to the forwarder.
type webFilterSink struct{ fw *webfilter.Forwarder }

func (s webFilterSink) Accounted(ctx context.Context, a radius.Accounting) {
	x := a.Session
	e := webfilter.Event{Status: webfilter.Status(a.Status), Source: webfilter.SourceRADIUS, At: a.At,
		Username: x.Username, SessionID: x.SessionID, FramedIP: x.FramedIP, CallingStation: x.CallingStation,
		CalledStation: x.CalledStation, NASName: x.NASName, NASAddress: x.NASAddress, StartedAt: x.StartedAt,
		TerminateCause: x.TerminateCause, Groups: a.Groups, FilterID: a.Policy.FilterID, Class: a.Policy.Class}
	if a.Disconnect {
		e.Source = webfilter.SourceDisconnect
	}
	s.fw.Enqueue(e)
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

// cmdWebFilter: keystage webfilter token NAME.
func cmdWebFilter(e *env, args []string) error {
	if len(args) != 2 || args[0] != "token" {
		return usagef("want: webfilter token NAME (prints a new feed token for the filter NAME)")
	}
	name := args[1]
	b := make([]byte, 32)
	rand.Read(b)
	token := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	fmt.Fprintf(e.stdout, `# The token for %[1]s: give it to the filter (Authorization: Bearer TOKEN).
# It is shown once; Keystage keeps only its SHA-256.
%[2]s

# Add this to the configuration under [webfilter.feed], then restart keystage serve:
[[webfilter.feed.token]]
name = %[3]q
sha256 = "%[4]s"
history = false   # true: may also ask who had an address at a past time
`, name, token, name, hex.EncodeToString(sum[:]))
	return nil
}
