package ldapserver_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/directory"
	ldapserver "keystage.dev/keystage/ldapserver"
	"keystage.dev/keystage/ldapserver/ldaptest"
	"keystage.dev/keystage/passwords"
)

// outcomes counts what the server observed, by op and result.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) observe(out directory.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[out.Op+"/"+out.Result]++
}

func (o *outcomes) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[key]
}

// dialFrom connects from a loopback address of its own: the server tells
// clients apart by address, and 127.0.0.0/8 all reaches it.
func dialFrom(t *testing.T, srv *ldaptest.Server, ip string) (*ldap.Conn, error) {
	t.Helper()
	l, err := ldap.DialURL(srv.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 20 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}))
	if err == nil {
		t.Cleanup(func() { l.Close() })
	}
	return l, err
}

func rawFrom(t *testing.T, addr, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 20 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// teacherSignsIn binds as the teacher from ip, as a desktop would.
func teacherSignsIn(t *testing.T, srv *ldaptest.Server, ip string) {
	t.Helper()
	l, err := dialFrom(t, srv, ip)
	if err != nil {
		t.Fatalf("teacher's connection from %s: %v", ip, err)
	}
	l.SetTimeout(60 * time.Second)
	if err := l.Bind("uid="+ldaptest.Teacher+",ou=people,"+base, ldaptest.TeacherPassword); err != nil {
		t.Fatalf("teacher's bind from %s during the flood: %v", ip, err)
	}
}

// closedByServer reports whether the server closed c (EOF) within a
// generous bound; what it sent first is returned.
func closedByServer(c net.Conn) ([]byte, bool) {
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return b, false
	}
	return b, true
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

var partialFrame = []byte{0x30, 0x83, 0x03, 0xff, 0x00} // announces 261,888 bytes, sends none

// TestPartialFrameFlood: connections that announce a quarter-megabyte
// message and send five bytes cost memory in proportion to those bytes;
// one address gets no more than its share of connections, the excess is
// refused and counted; and a teacher on another machine signs in during
// the flood.
func TestPartialFrameFlood(t *testing.T) {
	const perAddr, flood = 100, 150
	var seen outcomes
	srv := ldaptest.Start(t, ldaptest.Options{Observer: seen.observe, Config: func(c *ldapserver.Config) {
		c.MaxConnsPerAddr = perAddr
	}})
	before := heapInUse()
	conns := make([]net.Conn, 0, flood)
	for range flood {
		c := rawFrom(t, srv.Addr, "127.0.0.1")
		if _, err := c.Write(partialFrame); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	teacherSignsIn(t, srv, "127.0.0.2")

	// The refused connections were told why, then closed.
	refused := 0
	for _, c := range conns[perAddr:] {
		b, closed := closedByServer(c)
		if !closed {
			t.Fatal("a connection over the per-address bound was left open")
		}
		if code, ok := noticeCode(b); ok && code == 51 {
			refused++
		}
	}
	if refused != flood-perAddr {
		t.Fatalf("%d connections over the bound got a busy Notice of Disconnection, want %d", refused, flood-perAddr)
	}
	if n := seen.count("connect/too_many_from_address"); n != flood-perAddr {
		t.Fatalf("refusals counted: %d, want %d", n, flood-perAddr)
	}
	// The admitted ones hold memory for what they sent, not for what
	// they announced (100 × 261,888 bytes would be 25 MiB). The server
	// reads them at its own pace: look a few times.
	const bound = perAddr * 32 << 10
	for range 20 {
		if grown := int64(heapInUse()) - int64(before); grown > bound {
			t.Fatalf("the live heap grew %d bytes for %d partial frames, want under %d", grown, perAddr, bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noticeCode reads the result code of a Notice of Disconnection.
func noticeCode(b []byte) (int64, bool) {
	p, err := ber.DecodePacketErr(b)
	if err != nil || len(p.Children) < 2 || len(p.Children[1].Children) < 4 {
		return 0, false
	}
	op := p.Children[1]
	if op.Tag != 24 || op.Children[3].Data.String() != "1.3.6.1.4.1.1466.20036" {
		return 0, false
	}
	code, ok := op.Children[0].Value.(int64)
	return code, ok
}

// TestConnectionBounds: the server's total and each address's share are
// enforced at accept, and a place freed is given to the next client.
func TestConnectionBounds(t *testing.T) {
	var seen outcomes
	srv := ldaptest.Start(t, ldaptest.Options{Observer: seen.observe, Config: func(c *ldapserver.Config) {
		c.MaxConns, c.MaxConnsPerAddr = 4, 2
	}})
	rootDSE := func(l *ldap.Conn) error {
		_, err := l.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
		return err
	}
	refusedWith := func(ip string) {
		t.Helper()
		b, closed := closedByServer(rawFrom(t, srv.Addr, ip))
		if !closed {
			t.Fatalf("a connection from %s over the bounds was left open", ip)
		}
		if code, _ := noticeCode(b); code != 51 {
			t.Fatalf("refused connection's notice: code %d, want 51 (busy)", code)
		}
	}
	var open []*ldap.Conn
	serve := func(ip string) {
		t.Helper()
		l, err := dialFrom(t, srv, ip)
		if err != nil {
			t.Fatal(err)
		}
		if err := rootDSE(l); err != nil {
			t.Fatalf("connection from %s within the bounds: %v", ip, err)
		}
		open = append(open, l)
	}
	serve("127.0.0.1")
	serve("127.0.0.1")
	refusedWith("127.0.0.1")
	if n := seen.count("connect/too_many_from_address"); n != 1 {
		t.Fatalf("refusals over the per-address bound counted: %d, want 1", n)
	}
	serve("127.0.0.2")
	serve("127.0.0.2")
	refusedWith("127.0.0.3")
	if n := seen.count("connect/too_many_connections"); n != 1 {
		t.Fatalf("refusals over the total counted: %d, want 1", n)
	}
	open[3].Close()
	// The server frees the place when it sees the close: try until it has.
	for i := 0; ; i++ {
		l, err := dialFrom(t, srv, "127.0.0.3")
		if err == nil && rootDSE(l) == nil {
			break
		}
		if i == 200 {
			t.Fatal("the place freed was never given to another client")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUnfinishedFrameAndFirstBindDeadlines: a request begun and not
// finished, and a connection that never binds, are closed after their
// short deadlines, while a bound connection stays.
func TestUnfinishedFrameAndFirstBindDeadlines(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{Config: func(c *ldapserver.Config) {
		c.FrameTimeout, c.BindTimeout = 300*time.Millisecond, 600*time.Millisecond
	}})
	// A bound connection that then starts a frame and stops.
	l := bound(t, srv, ldaptest.Teacher, ldaptest.TeacherPassword)
	time.Sleep(time.Second) // past the bind timeout: bound, so still served
	if _, err := l.WhoAmI(nil); err != nil {
		t.Fatalf("a bound connection was closed by the first-bind deadline: %v", err)
	}
	// Unbound and silent.
	silent := rawFrom(t, srv.Addr, "127.0.0.1")
	if _, closed := closedByServer(silent); !closed {
		t.Fatal("a connection that never bound was left open")
	}

	srv = ldaptest.Start(t, ldaptest.Options{Config: func(c *ldapserver.Config) {
		c.FrameTimeout, c.BindTimeout = 300*time.Millisecond, time.Hour
	}})
	started := rawFrom(t, srv.Addr, "127.0.0.1")
	started.Write(partialFrame)
	if _, closed := closedByServer(started); !closed {
		t.Fatal("a connection that began a request and stopped was left open")
	}
}

// memberOr is an OR of n member terms naming people, as a pupil might
// send to learn who is in which group; person i is "p<i>", and the seeded
// pupil comes last.
func memberOr(n int) string {
	var b strings.Builder
	b.WriteString("(|")
	for i := range n - 1 {
		fmt.Fprintf(&b, "(member=uid=p%d,ou=people,%s)", i, base)
	}
	fmt.Fprintf(&b, "(member=uid=%s,ou=people,%s))", ldaptest.Pupil, base)
	return b.String()
}

// TestOrFilterFlood: a filter larger than the bound is refused with
// adminLimitExceeded before any work; ones within it give the right
// groups; and while two connections keep sixteen such searches going, a
// teacher signs in.
func TestOrFilterFlood(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{})
	pupil := bound(t, srv, ldaptest.Pupil, ldaptest.PupilPassword)
	groups := func(l *ldap.Conn, filter string) ([]string, error) {
		res, err := l.Search(ldap.NewSearchRequest("ou=groups,"+base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, []string{"cn"}, nil))
		if err != nil {
			return nil, err
		}
		var out []string
		for _, e := range res.Entries {
			out = append(out, e.GetAttributeValue("cn"))
		}
		return out, nil
	}
	// Refused before decoding (4,300 terms) and after (600).
	for _, n := range []int{4300, 600} {
		_, err := groups(pupil, memberOr(n))
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultAdminLimitExceeded) {
			t.Fatalf("a %d-term filter: %v, want adminLimitExceeded", n, err)
		}
	}
	within := memberOr(ldapserver.DefaultMaxFilterTerms - 1)
	got, err := groups(pupil, within)
	if err != nil {
		t.Fatalf("a filter at the bound: %v", err)
	}
	if strings.Join(got, ",") != "pupils,year-7,7a" {
		t.Fatalf("groups with the pupil as a member: %v, want pupils, year-7, 7a", got)
	}

	// The flood: two connections, eight searches in flight on each,
	// a bounded number of times.
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for range 2 {
		l := bound(t, srv, ldaptest.Pupil, ldaptest.PupilPassword)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					_, err := groups(l, within)
					word := "success"
					if err != nil {
						word = err.Error()
						var le *ldap.Error
						if errors.As(err, &le) {
							word = ldap.LDAPResultCodeMap[le.ResultCode]
						}
					}
					mu.Lock()
					results[word]++
					mu.Unlock()
				}
			}()
		}
	}
	teacherSignsIn(t, srv, "127.0.0.2")
	wg.Wait()
	for word, n := range results {
		if word != "success" && word != ldap.LDAPResultCodeMap[ldap.LDAPResultBusy] {
			t.Errorf("%d searches during the flood ended %q", n, word)
		}
	}
	if testing.Verbose() {
		fmt.Fprintln(os.Stderr, "flood searches:", results)
	}
}

// TestLongOrPlannedOrScanned: a long OR of member terms finds the same
// groups whether the planner looks each term up (groups outnumber twice
// the terms) or scans the groups (they do not).
func TestLongOrPlannedOrScanned(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{People: 300})
	svc := bound(t, srv, ldaptest.Service, ldaptest.ServicePassword)
	all, err := svc.Search(ldap.NewSearchRequest("ou=groups,"+base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=posixGroup)", []string{"cn"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	groups := len(all.Entries)
	for _, terms := range []int{17, groups/2 - 1, groups} { // planned, planned, scanned
		if terms <= 16 {
			continue
		}
		res, err := svc.Search(ldap.NewSearchRequest("ou=groups,"+base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			memberOr(terms), []string{"cn"}, nil))
		if err != nil {
			t.Fatalf("%d terms over %d groups: %v", terms, groups, err)
		}
		var got []string
		for _, e := range res.Entries {
			got = append(got, e.GetAttributeValue("cn"))
		}
		if strings.Join(got, ",") != "pupils,year-7,7a" {
			t.Fatalf("%d terms over %d groups: %v, want pupils, year-7, 7a", terms, groups, got)
		}
	}
	if groups < 2*17 {
		t.Fatalf("only %d groups: the planned path is not exercised", groups)
	}
}

// TestLargeSearchWrittenWhole: a search whose answer is several times the
// bound on what is collected before writing (batchBound, 64 KiB) arrives
// whole and in order, ended by its SearchResultDone.
func TestLargeSearchWrittenWhole(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Options{People: 400})
	svc := bound(t, srv, ldaptest.Service, ldaptest.ServicePassword)
	res, err := svc.Search(ldap.NewSearchRequest("ou=people,"+base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=posixAccount)", []string{"*", "+"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	size, last := 0, ""
	for _, e := range res.Entries {
		if e.GetAttributeValue("uid") == "" || e.GetAttributeValue("entryUUID") == "" {
			t.Fatalf("%s arrived without its attributes", e.DN)
		}
		size += len(e.DN)
		for _, a := range e.Attributes {
			for _, v := range a.Values {
				size += len(a.Name) + len(v)
			}
		}
		last = e.DN
	}
	if len(res.Entries) < 400 || size < 3*64<<10 {
		t.Fatalf("%d entries of %d bytes: not enough to pass the bound several times", len(res.Entries), size)
	}
	// The next request on the connection is answered: nothing was left
	// unwritten or written twice.
	again, err := svc.Search(ldap.NewSearchRequest(last, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"uid"}, nil))
	if err != nil || len(again.Entries) != 1 {
		t.Fatalf("the search after: %v", err)
	}
}

// TestBindFlood: binds as nobody on many connections at once, each of
// which costs a real argon2id hash, hold the memory of the hashes' shared
// budget, not a hash's memory per connection; and a teacher on another
// machine signs in during the flood.
func TestBindFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes of 16 MiB on 40 connections")
	}
	const conns, binds, hashKiB = 40, 2, 16 << 10
	p := passwords.DefaultArgon2Params()
	p.Memory, p.Iterations = hashKiB, 1
	srv := ldaptest.Start(t, ldaptest.Options{Hasher: &passwords.Hasher{Params: p}})
	before := heapInUse()
	budget := uint64(passwords.MemoryBudget()) << 10
	if conns*hashKiB<<10 <= budget {
		t.Skipf("%d hashes of %d KiB fit in this machine's budget of %d KiB: the flood would show nothing", conns, hashKiB, budget>>10)
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range conns {
		l, err := dialFrom(t, srv, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		l.SetTimeout(2 * time.Minute)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range binds {
				if err := l.Bind(fmt.Sprintf("uid=nobody%d-%d,ou=people,%s", i, j, base), "Wrong-Guess-1"); err == nil {
					t.Error("a bind as nobody succeeded")
				}
			}
		}()
	}
	teacherSignsIn(t, srv, "127.0.0.2")
	wg.Wait()
	close(stop)
	<-sampled
	// The hashes' budget, twice over for what finished hashes leave until
	// the collector runs, and a margin for the connections; a hash of its
	// own for each connection would be 640 MiB live.
	if grown := int64(peak.Load()) - int64(before); grown > int64(2*budget+32<<20) {
		t.Fatalf("the heap grew by %d MiB during the flood, over the hashes' budget of %d MiB", grown>>20, budget>>20)
	}
}
