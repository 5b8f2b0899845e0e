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

	ber "github.com/go-asn1-ber/asn1-ber"
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
		floodOr(u, base, dial, names, o)
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

func floodOr(u, base string, dial func() (*ldap.Conn, error), names []string, o floodOptions) {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "ldap" {
		fail("-flood or needs an ldap:// URL")
	}
	var b strings.Builder
	b.WriteString("(|")
	for i := 0; i < o.terms; i++ {
		fmt.Fprintf(&b, "(member=uid=%s,ou=people,%s)", ldap.EscapeFilter(names[i%len(names)]), base)
	}
	b.WriteString(")")
	filter, err := ldap.CompileFilter(b.String())
	if err != nil {
		fail("filter: %v", err)
	}
	// The request is encoded once and sent as bytes with a new message
	// id each time, so that the load tool, which shares the machine,
	// spends next to nothing per search and what is measured is the server.
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 3, nil, "SearchRequest")
	req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "ou=groups,"+base, "base"))
	for _, v := range []int64{2, 0, 0, 0} { // subtree, never deref, no size or time limit
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, v, ""))
	}
	req.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, "typesOnly"))
	req.AppendChild(filter)
	attrs := ber.NewSequence("attributes")
	attrs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "cn", ""))
	req.AppendChild(attrs)
	body := req.Bytes()
	frame := func(id int64) []byte {
		m := ber.NewSequence("LDAPMessage")
		m.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "id"))
		out := m.Bytes()
		// The sequence's length must cover the request too: re-encode
		// the header around the id and the pre-encoded body.
		inner := append(out[2:], body...)
		return append(berHeader(0x30, len(inner)), inner...)
	}
	fmt.Printf("flood=or conns=%d per-conn=%d terms=%d request-bytes=%d duration=%s\n", o.conns, o.per, o.terms, len(frame(1)), o.duration)
	fmt.Printf("server before: %s\n", rss(o.pid))
	ctx, cancel := context.WithTimeout(context.Background(), o.duration)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = map[string]int{}
		sent    atomic.Int64
	)
	for i := 0; i < o.conns; i++ {
		nc, err := net.DialTimeout("tcp", pu.Host, 10*time.Second)
		if err != nil {
			fail("flood dial: %v", err)
		}
		if err := rawBind(nc, o.floodDN, o.floodPW); err != nil {
			fail("flood bind: %v", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer nc.Close()
			floodConn(ctx, nc, frame, o.per, &sent, func(word string) {
				mu.Lock()
				results[word]++
				mu.Unlock()
			})
		}()
	}
	time.Sleep(time.Second) // the flood is under way
	var probes []time.Duration
	for ctx.Err() == nil {
		if d, ok := probeBind(dial, o); ok {
			probes = append(probes, d)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Printf("server during: %s\n", rss(o.pid))
	wg.Wait()
	mu.Lock()
	fmt.Printf("searches sent=%d answered=%v\n", sent.Load(), results)
	mu.Unlock()
	slices.Sort(probes)
	fmt.Printf("binds during the flood: n=%d p50=%s p90=%s max=%s all=%v\n", len(probes), pick(probes, 50), pick(probes, 90), pick(probes, 100), roundAll(probes))
}

// floodConn keeps per searches in flight on nc until ctx ends, counting
// each SearchResultDone by its result code.
func floodConn(ctx context.Context, nc net.Conn, frame func(int64) []byte, per int, sent *atomic.Int64, count func(string)) {
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	id := int64(100)
	send := func() bool {
		id++
		sent.Add(1)
		_, err := nc.Write(frame(id))
		return err == nil
	}
	for range per {
		if !send() {
			return
		}
	}
	for {
		p, err := ber.ReadPacket(nc)
		if err != nil {
			return
		}
		if len(p.Children) < 2 || p.Children[1].Tag != 5 { // entries: not counted
			continue
		}
		word := "unknown"
		if rc := p.Children[1].Children; len(rc) > 0 {
			if code, ok := rc[0].Value.(int64); ok {
				word = ldap.LDAPResultCodeMap[uint16(code)]
			}
		}
		count(word)
		if ctx.Err() != nil || !send() {
			return
		}
	}
}

// rawBind binds nc as dn with a simple bind, without a client library.
func rawBind(nc net.Conn, dn, pw string) error {
	m := ber.NewSequence("LDAPMessage")
	m.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "id"))
	bind := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "BindRequest")
	bind.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), "version"))
	bind.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "name"))
	bind.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, "password"))
	m.AppendChild(bind)
	if _, err := nc.Write(m.Bytes()); err != nil {
		return err
	}
	p, err := ber.ReadPacket(nc)
	if err != nil {
		return err
	}
	if len(p.Children) < 2 || len(p.Children[1].Children) < 1 {
		return errors.New("malformed bind response")
	}
	if code, _ := p.Children[1].Children[0].Value.(int64); code != 0 {
		return fmt.Errorf("bind result %d", code)
	}
	return nil
}

// berHeader is a BER tag and definite length.
func berHeader(tag byte, n int) []byte {
	switch {
	case n < 0x80:
		return []byte{tag, byte(n)}
	case n < 0x100:
		return []byte{tag, 0x81, byte(n)}
	case n < 0x10000:
		return []byte{tag, 0x82, byte(n >> 8), byte(n)}
	}
	return []byte{tag, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}
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
