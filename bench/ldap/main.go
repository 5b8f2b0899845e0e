// Command ldap is a load tool for Keystage's LDAP frontend (or any LDAP
// server): it opens many connections and drives simple binds or equality
// searches at them for a while, then prints operations per second and
// latency percentiles. It only reads, and it binds only as the accounts it
// is given.
//
//	go run ./bench/ldap -url ldap://127.0.0.1:3389 -base dc=school,dc=example \
//	    -D uid=reader,ou=services,dc=school,dc=example -w PASSWORD \
//	    -op search -conns 32 -duration 30s
//
// With -op bind, the people found by the first paged search bind with
// -user-password (every generated bench person shares it).
//
// With -flood, it floods the server instead (loopback only: it is for
// measuring a server's bounds, see docs/benchmarks/ldap.md) and times a
// person's bind meanwhile:
//
//	go run ./bench/ldap -flood partial -conns 8000 -pid PID ...
//	go run ./bench/ldap -flood or -conns 2 -per-conn 8 -terms 4300 -duration 60s ...
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func main() {
	url := flag.String("url", "ldap://127.0.0.1:3389", "server `URL`")
	base := flag.String("base", "dc=school,dc=example", "base DN")
	bindDN := flag.String("D", "", "DN of the account that searches (a service account with a grant on people)")
	bindPW := flag.String("w", "", "its password (or env KEYSTAGE_BENCH_PASSWORD)")
	op := flag.String("op", "search", "search: (&(objectClass=posixAccount)(uid=NAME)); bind: simple bind as NAME")
	userPW := flag.String("user-password", "", "password of the people, for -op bind")
	conns := flag.Int("conns", 16, "concurrent connections")
	duration := flag.Duration("duration", 20*time.Second, "how long to drive load")
	sample := flag.Int("sample", 1000, "how many usernames to spread the load over")
	sampleFilter := flag.String("sample-filter", "(objectClass=posixAccount)", "which people to sample (for -op bind, people the gate lets in)")
	insecure := flag.Bool("insecure", false, "do not check the server certificate (ldaps:// to a self-signed demo)")
	floodMode := flag.String("flood", "", "partial: hold -conns connections that each announce a 256 KiB message and send nothing more; "+
		"or: -conns connections, each with -per-conn searches of ou=groups by an OR of -terms member DNs, for -duration; "+
		"either way a person (-user-password, or -probe-dn/-probe-pw) binds meanwhile and the bind's latency is printed")
	pid := flag.Int("pid", 0, "the server's process id: -flood prints its resident memory")
	terms := flag.Int("terms", 4300, "-flood or: member terms in each filter")
	perConn := flag.Int("per-conn", 8, "-flood or: searches in flight on each connection")
	probeDN := flag.String("probe-dn", "", "-flood: who binds during the flood (default: the first sampled person)")
	probePW := flag.String("probe-pw", "", "-flood: that DN's password (default -user-password)")
	probeFrom := flag.String("probe-from", "127.0.0.2", "-flood: the local address the probe binds from, so that it is another client than the flood's")
	flag.Parse()
	if *bindPW == "" {
		*bindPW = os.Getenv("KEYSTAGE_BENCH_PASSWORD")
	}
	opts := []ldap.DialOpt{}
	if *insecure {
		opts = append(opts, ldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	}
	dial := func() (*ldap.Conn, error) { return ldap.DialURL(*url, opts...) }

	names, err := sampleNames(dial, *base, *bindDN, *bindPW, *sampleFilter, *sample)
	if err != nil {
		fail("sampling usernames: %v", err)
	}
	if len(names) == 0 {
		fail("no people found under ou=people,%s", *base)
	}
	if *floodMode != "" {
		o := floodOptions{mode: *floodMode, conns: *conns, per: *perConn, terms: *terms, duration: *duration, pid: *pid,
			probeDN: *probeDN, probePW: *probePW, floodDN: *bindDN, floodPW: *bindPW}
		probeOpts := append(slices.Clone(opts), ldap.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second,
			LocalAddr: &net.TCPAddr{IP: net.ParseIP(*probeFrom)}}))
		o.probeDial = func() (*ldap.Conn, error) { return ldap.DialURL(*url, probeOpts...) }
		if o.probeDN == "" {
			o.probeDN = "uid=" + names[0] + ",ou=people," + *base
		}
		if o.probePW == "" {
			o.probePW = *userPW
		}
		flood(*url, *base, dial, names, o)
		return
	}
	if *op == "bind" && *userPW == "" {
		fail("-op bind needs -user-password")
	}

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var (
		mu      sync.Mutex
		lat     []time.Duration
		errs    atomic.Int64
		wg      sync.WaitGroup
		started = time.Now()
	)
	for i := 0; i < *conns; i++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			l, err := dial()
			if err != nil {
				errs.Add(1)
				return
			}
			defer l.Close()
			if *op == "search" {
				if err := l.Bind(*bindDN, *bindPW); err != nil {
					errs.Add(1)
					return
				}
			}
			r := rand.New(rand.NewPCG(seed, 7))
			var mine []time.Duration
			for ctx.Err() == nil {
				name := names[r.IntN(len(names))]
				t0 := time.Now()
				switch *op {
				case "bind":
					err = l.Bind("uid="+name+",ou=people,"+*base, *userPW)
				default:
					var res *ldap.SearchResult
					res, err = l.Search(ldap.NewSearchRequest(*base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
						"(&(objectClass=posixAccount)(uid="+ldap.EscapeFilter(name)+"))",
						[]string{"uid", "uidNumber", "gidNumber", "homeDirectory", "loginShell", "gecos"}, nil))
					if err == nil && len(res.Entries) != 1 {
						err = errors.New("not exactly one entry")
					}
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(uint64(i) + 1)
	}
	wg.Wait()
	elapsed := time.Since(started)
	slices.Sort(lat)
	pct := func(p int) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, len(lat)*p/100)]
	}
	fmt.Printf("op=%s conns=%d duration=%s sample=%d\n", *op, *conns, elapsed.Round(time.Millisecond), len(names))
	fmt.Printf("ok=%d errors=%d rate=%.0f/s p50=%s p90=%s p99=%s max=%s\n", len(lat), errs.Load(),
		float64(len(lat))/elapsed.Seconds(), pct(50), pct(90), pct(99), pct(100))
	if errs.Load() > 0 {
		os.Exit(1)
	}
}

// sampleNames pages through the people once and keeps every k-th uid, so
// that the load spreads over the whole store.
func sampleNames(dial func() (*ldap.Conn, error), base, dn, pw, filter string, want int) ([]string, error) {
	l, err := dial()
	if err != nil {
		return nil, err
	}
	defer l.Close()
	if err := l.Bind(dn, pw); err != nil {
		return nil, err
	}
	var all []string
	req := ldap.NewSearchRequest("ou=people,"+base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"uid"}, nil)
	res, err := l.SearchWithPaging(req, 1000)
	if err != nil {
		return nil, err
	}
	for _, e := range res.Entries {
		all = append(all, e.GetAttributeValue("uid"))
	}
	step := max(len(all)/want, 1)
	var out []string
	for i := 0; i < len(all) && len(out) < want; i += step {
		out = append(out, all[i])
	}
	return out, nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/ldap: "+format+"\n", args...)
	os.Exit(1)
}
