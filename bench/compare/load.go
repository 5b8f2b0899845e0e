package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"keystage.dev/keystage/radius/radiustest"

	"github.com/go-ldap/ldap/v3"
	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2759"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/vendors/microsoft"

	"keystage.dev/keystage/radius/eap/eaptest"
	"keystage.dev/keystage/radius/eap/wire"
)

// The load generator is the same code against every server: only the
// address differs.

// errRejected is an answer other than success (Access-Reject, an LDAP
// error result, a search that found the wrong number of entries).
var errRejected = errors.New("refused")

// op is one request (or, for PEAP, one whole conversation) by one worker.
type op func(ctx context.Context, p person) error

// worker is one client's connection and what it sends over it.
type worker struct {
	do    op
	close func()
}

// result is what one run measured.
type result struct {
	OK, Failed int
	Elapsed    time.Duration
	Lat        []time.Duration // sorted
	FirstErr   error
	Kinds      map[string]int // failures by kind
	// CPU is the CPU time the server under test used during the run
	// (user and system, all its threads; 0 when it cannot be read).
	CPU time.Duration
}

// cpuPerRequest is the server's CPU time for each request answered: what
// the request rate cannot show when the load generator, sharing the
// machine, is what limits both servers.
func (r result) cpuPerRequest() time.Duration {
	if r.OK == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.OK)
}

func (r result) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

func (r result) pct(q float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	return r.Lat[min(len(r.Lat)-1, int(q*float64(len(r.Lat))))]
}

// drive runs clients workers until requests operations have been started
// or dur has passed, whichever is first, each worker waiting for its answer
// before sending the next.
func drive(ctx context.Context, clients, requests int, dur time.Duration, sample []person, newWorker func() (worker, error)) result {
	t0 := time.Now()
	end := t0.Add(dur)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var (
		started, failed atomic.Int64
		mu              sync.Mutex
		lat             []time.Duration
		firstErr        error
		kinds           = map[string]int{}
		wg              sync.WaitGroup
	)
	fail := func(err error) {
		failed.Add(1)
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		kinds[kindOf(err)]++
		mu.Unlock()
	}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := newWorker()
			if err != nil {
				fail(err)
				return
			}
			defer w.close()
			r := mrand.New(mrand.NewPCG(uint64(c)+1, 7))
			var mine []time.Duration
			// The clock, not ctx.Err(), says when the run is over: on a busy
			// machine the context's timer fires late, and requests cut
			// short by the deadline in that gap are not failures.
			for time.Now().Before(end) && started.Add(1) <= int64(requests) {
				p := sample[r.IntN(len(sample))]
				s := time.Now()
				if err := w.do(ctx, p); err != nil {
					if time.Now().Before(end) {
						fail(fmt.Errorf("%s after %s: %w", p.Username, time.Since(s).Round(time.Millisecond), err))
					}
					continue
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	slices.Sort(lat)
	return result{OK: len(lat), Failed: int(failed.Load()), Elapsed: elapsed, Lat: lat, FirstErr: firstErr, Kinds: kinds}
}

// kindOf names a failure without the person or the ports in it, so that
// failures can be counted by kind.
func kindOf(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer within 2s"
	case errors.Is(err, errRejected):
		// "NAME after 3ms: refused: …": keep what follows the name.
		if _, rest, ok := strings.Cut(err.Error(), ": "); ok {
			return rest
		}
	}
	return err.Error()
}

// radiusClient is one NAS's UDP socket (its own source port).
type radiusClient struct {
	conn *net.UDPConn
	id   uint8
	buf  []byte
}

func newRADIUSClient(addr string) (*radiusClient, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return nil, err
	}
	return &radiusClient{conn: c, buf: make([]byte, 4096)}, nil
}

// exchange signs p (Message-Authenticator, as every NAS sends with EAP and
// Keystage wants on every request), sends it and waits up to two seconds
// for the answer with its identifier.
func (c *radiusClient) exchange(ctx context.Context, p *layeh.Packet) (*layeh.Packet, error) {
	c.id++
	p.Identifier = c.id
	b, err := radiustest.Sign(p, radiusSecret)
	if err != nil {
		return nil, err
	}
	if _, err := c.conn.Write(b); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetReadDeadline(deadline)
	for {
		n, err := c.conn.Read(c.buf)
		if err != nil {
			return nil, fmt.Errorf("no answer: %w", err)
		}
		// A late answer to an earlier request is not this one's.
		if n < 20 || c.buf[1] != c.id {
			continue
		}
		return layeh.Parse(c.buf[:n], []byte(radiusSecret))
	}
}

func (c *radiusClient) close() { c.conn.Close() }

// radiusOp is PAP or MS-CHAPv2 in one Access-Request.
func radiusOp(addr, method string) func() (worker, error) {
	return func() (worker, error) {
		c, err := newRADIUSClient(addr)
		if err != nil {
			return worker{}, err
		}
		do := func(ctx context.Context, pe person) error {
			p := layeh.New(layeh.CodeAccessRequest, []byte(radiusSecret))
			rfc2865.UserName_SetString(p, pe.Username)
			if method == "pap" {
				rfc2865.UserPassword_SetString(p, pe.WiFi)
			} else {
				ac, pc := make([]byte, 16), make([]byte, 16)
				rand.Read(ac)
				rand.Read(pc)
				nt, err := rfc2759.GenerateNTResponse(ac, pc, []byte(pe.Username), []byte(pe.WiFi))
				if err != nil {
					return err
				}
				microsoft.MSCHAPChallenge_Set(p, ac)
				microsoft.MSCHAP2Response_Set(p, append(append(append([]byte{1, 0}, pc...), make([]byte, 8)...), nt...))
			}
			r, err := c.exchange(ctx, p)
			if err != nil {
				return err
			}
			if r.Code != layeh.CodeAccessAccept {
				return fmt.Errorf("%w: %v %q", errRejected, r.Code, rfc2865.ReplyMessage_GetString(r))
			}
			return nil
		}
		return worker{do: do, close: c.close}, nil
	}
}

// peapOp is one whole PEAP-MSCHAPv2 authentication carried in
// Access-Request / Access-Challenge round trips as an access point would.
// Without resume it is a full TLS handshake each time (the peer keeps no
// session cache); with resume each person's device keeps its own session
// cache, as a phone roaming between access points does, so every
// authentication of a person after their first resumes the TLS session
// (the inner MSCHAPv2 exchange still runs).
func peapOp(addr, caFile string, resume bool) func() (worker, error) {
	return func() (worker, error) {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return worker{}, err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return worker{}, fmt.Errorf("%s: no certificate", caFile)
		}
		tc := &tls.Config{RootCAs: roots, ServerName: eapServerName, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
		c, err := newRADIUSClient(addr)
		if err != nil {
			return worker{}, err
		}
		devices := map[string]tls.ClientSessionCache{} // by person: this worker's only
		do := func(ctx context.Context, pe person) error {
			ptc := tc
			again := false // this device has a session to resume
			if resume {
				cache := devices[pe.Username]
				again = cache != nil
				if cache == nil {
					cache = tls.NewLRUClientSessionCache(1)
					devices[pe.Username] = cache
				}
				ptc = tc.Clone()
				ptc.ClientSessionCache = cache
			}
			peer := &eaptest.Peer{Identity: "anonymous@school.example", Username: pe.Username, Password: pe.WiFi, Method: wire.TypePEAP, TLS: ptc}
			defer peer.Close()
			msg := peer.IdentityResponse(1)
			var state []byte
			for round := 0; round < 30; round++ {
				p := layeh.New(layeh.CodeAccessRequest, []byte(radiusSecret))
				rfc2865.UserName_SetString(p, peer.Identity)
				rfc2865.NASPortType_Set(p, rfc2865.NASPortType_Value_Wireless80211)
				rfc2865.FramedMTU_Set(p, 1400)
				for len(msg) > 0 {
					n := min(len(msg), 253)
					p.Add(rfc2869.EAPMessage_Type, msg[:n])
					msg = msg[n:]
				}
				if state != nil {
					rfc2865.State_Set(p, state)
				}
				r, err := c.exchange(ctx, p)
				if err != nil {
					return err
				}
				var eapMsg []byte
				for _, a := range r.Attributes {
					if a.Type == rfc2869.EAPMessage_Type {
						eapMsg = append(eapMsg, a.Attribute...)
					}
				}
				switch r.Code {
				case layeh.CodeAccessAccept:
					// The peer checks that the server proved itself first.
					if _, err := peer.Respond(ctx, eapMsg); err != nil {
						return err
					}
					if !peer.Succeeded() {
						return fmt.Errorf("%w: Access-Accept without EAP-Success", errRejected)
					}
					if again && !peer.Resumed {
						return errors.New("the device's TLS session was not resumed")
					}
					return nil
				case layeh.CodeAccessChallenge:
				default:
					return fmt.Errorf("%w: %v %q", errRejected, r.Code, rfc2865.ReplyMessage_GetString(r))
				}
				state = rfc2865.State_Get(r)
				if msg, err = peer.Respond(ctx, eapMsg); err != nil {
					return err
				}
			}
			return errors.New("PEAP did not finish in 30 round trips")
		}
		return worker{do: do, close: c.close}, nil
	}
}

// ldapOp is an nslcd-style search as the reader, or a simple bind as the
// person; each worker keeps one connection.
func ldapOp(url, kind string) func() (worker, error) {
	return func() (worker, error) {
		l, err := ldap.DialURL(url)
		if err != nil {
			return worker{}, err
		}
		if kind != "bind" {
			if err := l.Bind(readerDN, loginPassword); err != nil {
				l.Close()
				return worker{}, fmt.Errorf("bind as %s: %w", readerDN, err)
			}
		}
		do := func(ctx context.Context, pe person) error {
			if kind == "bind" {
				return l.Bind("uid="+pe.Username+",ou=people,"+baseDN, loginPassword)
			}
			switch kind {
			case "groups":
				// SSSD's initgroups with the rfc2307 schema: the groups
				// that name the person in memberUid.
				res, err := l.Search(ldap.NewSearchRequest(baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
					"(&(objectClass=posixGroup)(memberUid="+ldap.EscapeFilter(pe.Username)+"))",
					[]string{"cn", "gidNumber"}, nil))
				if err != nil {
					return err
				}
				if len(res.Entries) != len(pe.Groups) {
					return fmt.Errorf("%w: %d groups, want %d", errRejected, len(res.Entries), len(pe.Groups))
				}
				return nil
			case "memberof":
				// SSSD's rfc2307bis schema: the person's entry with the
				// groups it is a member of.
				res, err := l.Search(ldap.NewSearchRequest(baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
					"(&(objectClass=posixAccount)(uid="+ldap.EscapeFilter(pe.Username)+"))",
					[]string{"uid", "uidNumber", "gidNumber", "memberOf"}, nil))
				if err != nil {
					return err
				}
				if len(res.Entries) != 1 || len(res.Entries[0].GetAttributeValues("memberOf")) != len(pe.Groups) {
					return fmt.Errorf("%w: %d entries, memberOf not the person's %d groups", errRejected, len(res.Entries), len(pe.Groups))
				}
				return nil
			}
			res, err := l.Search(ldap.NewSearchRequest(baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				"(&(objectClass=posixAccount)(uid="+ldap.EscapeFilter(pe.Username)+"))",
				[]string{"uid", "uidNumber", "gidNumber", "homeDirectory", "loginShell", "gecos"}, nil))
			if err != nil {
				return err
			}
			if len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("uidNumber") != fmt.Sprint(pe.UIDNumber) {
				return fmt.Errorf("%w: %d entries", errRejected, len(res.Entries))
			}
			return nil
		}
		return worker{do: do, close: func() { l.Close() }}, nil
	}
}
