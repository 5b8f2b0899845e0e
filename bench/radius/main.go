// Command radius is the RADIUS load tool: it serves Keystage's RADIUS
// frontend on 127.0.0.1 over a SQLite store of many accounts and sends PAP
// and MS-CHAPv2 Access-Requests to it from many UDP source ports, then
// prints requests per second and latency percentiles. It only ever sends to
// the loopback server it started, for a bounded number of requests and time.
//
//	go run ./bench/radius -accounts 200000 -requests 100000 -clients 32
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	"keystage.dev/keystage/lifecycle/schoolgen"
	"keystage.dev/keystage/passwords"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/radius/radiustest"
	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2759"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/vendors/microsoft"
)

const secret = "bench-radius-shared-secret"

func main() {
	accounts := flag.Int("accounts", 200_000, "accounts in the store (seeded once, then reused)")
	db := flag.String("db", "", "SQLite file (default: TMPDIR/keystage-radius-bench-N.db)")
	requests := flag.Int("requests", 50_000, "stop after this many requests")
	duration := flag.Duration("duration", time.Minute, "or after this long")
	clients := flag.Int("clients", 32, "concurrent clients, each from its own UDP source port")
	method := flag.String("method", "mix", "pap, mschapv2 or mix (alternate)")
	users := flag.Int("users", 0, "spread requests over this many accounts (0: all); a small set shows the cached path")
	ttl := flag.Duration("facts-ttl", 5*time.Second, "the server's facts cache TTL (negative: off)")
	workers := flag.Int("workers", 64, "the server's workers on each port")
	flag.Parse()
	if err := run(*accounts, *db, *requests, *duration, *clients, *method, *users, *ttl, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "bench radius:", err)
		os.Exit(1)
	}
}

// credential is every bench account's Wi-Fi credential, from its MIS id.
func credential(misID string) string { return "bench-" + misID + "-wifi" }

func run(n int, db string, requests int, dur time.Duration, clients int, method string, users int, ttl time.Duration, workers int) error {
	ctx := context.Background()
	if db == "" {
		db = filepath.Join(os.TempDir(), fmt.Sprintf("keystage-radius-bench-%d.db", n))
	}
	st, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + db})
	if err != nil {
		return err
	}
	defer st.Close()
	// A fixed key, so that a reused store still opens: bench data only.
	kr, err := passwords.NewKeyring("bench", map[string][]byte{"bench": make([]byte, 32)})
	if err != nil {
		return err
	}
	// No AUP is published in the bench store and consent is not asked, so
	// that the gate allows everyone and every request runs to the end.
	d := directory.New(st, directory.Config{Sealer: kr, Policy: directory.GatePolicy{RequireConsent: func(directory.Account) bool { return false }},
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err := seed(ctx, d, n); err != nil {
		return err
	}
	people, err := sample(ctx, st, users)
	if err != nil {
		return err
	}
	srv, err := radius.New(ctx, d.Store(), d, d, radius.Config{FactsTTL: ttl, Workers: workers,
		Policies: []radius.Policy{{Group: "staff", VLAN: "10"}, {Group: "pupils", VLAN: "20"}}})
	if err != nil {
		return err
	}
	auth, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, auth, nil) }()
	defer func() { stop(); <-done }()

	var (
		sent             atomic.Int64
		accepts, rejects atomic.Int64
		lost             atomic.Int64
		mu               sync.Mutex
		lat              []time.Duration
	)
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialUDP("udp", nil, auth.LocalAddr().(*net.UDPAddr))
			if err != nil {
				lost.Add(1)
				return
			}
			defer conn.Close()
			r := mrand.New(mrand.NewPCG(uint64(c), 7))
			buf := make([]byte, 4096)
			var mine []time.Duration
			for i := 0; ; i++ {
				if sent.Add(1) > int64(requests) || time.Now().After(deadline) {
					break
				}
				p := people[r.IntN(len(people))]
				m := method
				if m == "mix" {
					m = []string{"pap", "mschapv2"}[i%2]
				}
				req := request(p.user, p.cred, m)
				t0 := time.Now()
				conn.Write(req)
				conn.SetReadDeadline(t0.Add(2 * time.Second))
				// A late answer to an earlier request is not this one's.
				k, err := conn.Read(buf)
				for err == nil && (k < 20 || buf[1] != req[1]) {
					k, err = conn.Read(buf)
				}
				if err != nil {
					lost.Add(1)
					continue
				}
				mine = append(mine, time.Since(t0))
				if k > 0 && layeh.Code(buf[0]) == layeh.CodeAccessAccept {
					accepts.Add(1)
				} else {
					rejects.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	stats := srv.Stats()
	fmt.Printf("accounts %d, users sampled %d, method %s, clients %d, facts TTL %s\n", n, len(people), method, clients, ttl)
	fmt.Printf("answered %d in %.1fs: %.0f requests/s; accepts %d, rejects %d, no answer %d\n",
		len(lat), elapsed.Seconds(), float64(len(lat))/elapsed.Seconds(), accepts.Load(), rejects.Load(), lost.Load())
	fmt.Printf("latency p50 %s, p90 %s, p99 %s, max %s\n", pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	fmt.Printf("server: %d requests, %d accepts, %d rejects, %d dropped\n", stats.AccessRequests, stats.Accepts, stats.Rejects, stats.Dropped())
	return nil
}

type person struct{ user, cred string }

// sample lists (up to) users accounts with their credentials, spread over
// the whole store.
func sample(ctx context.Context, st directory.Store, users int) ([]person, error) {
	var out []person
	q := directory.AccountQuery{Limit: 5000}
	for {
		page, err := st.ListAccounts(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, a := range page {
			out = append(out, person{a.Username, credential(a.MISID)})
		}
		if len(page) < q.Limit {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	if users > 0 && users < len(out) {
		mrand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		out = out[:users]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no accounts")
	}
	return out, nil
}

// seed stores n people with Wi-Fi credentials and the NAS client, once.
func seed(ctx context.Context, d *directory.Directory, n int) error {
	have, err := d.Store().CountAccounts(ctx, directory.AccountQuery{})
	if err != nil {
		return err
	}
	if have == n {
		return nil
	}
	if have != 0 {
		return fmt.Errorf("the bench store holds %d accounts, not %d: delete it or pass -db", have, n)
	}
	fmt.Fprintf(os.Stderr, "seeding %d accounts (once)…\n", n)
	_, err = schoolgen.Seed(ctx, d.Store(), schoolgen.People(schoolgen.Large(n)), schoolgen.SeedOptions{
		Actor: "bench",
		WiFi: func(p schoolgen.Person) (string, string, error) {
			s, err := d.Sealer().Seal([]byte(credential(p.MISID)), []byte(directory.SealWiFi))
			return s, d.Sealer().CurrentID(), err
		},
	})
	if err != nil {
		return err
	}
	sealed, err := d.Sealer().Seal([]byte(secret), []byte(directory.SealNAS))
	if err != nil {
		return err
	}
	return d.Store().Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		nas := directory.NASClient{Name: "bench", Addresses: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Secret: sealed, KeyID: d.Sealer().CurrentID()}
		if err := tx.PutNASClient(ctx, &nas); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "bench", Action: audit.ActionNASAdd, Target: "nas:bench"})
	})
}

// request builds a signed Access-Request as a NAS would.
func request(user, cred, method string) []byte {
	p := layeh.New(layeh.CodeAccessRequest, []byte(secret))
	rfc2865.UserName_SetString(p, user)
	switch method {
	case "pap":
		rfc2865.UserPassword_SetString(p, cred)
	default:
		ac, pc := make([]byte, 16), make([]byte, 16)
		rand.Read(ac)
		rand.Read(pc)
		nt, _ := rfc2759.GenerateNTResponse(ac, pc, []byte(user), []byte(cred))
		microsoft.MSCHAPChallenge_Set(p, ac)
		microsoft.MSCHAP2Response_Set(p, append(append(append([]byte{1, 0}, pc...), make([]byte, 8)...), nt...))
	}
	b, _ := radiustest.Sign(p, secret)
	return b
}
