package ldapserver_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"keystage.dev/keystage/audit"
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/directory/sqlstore"
	ldapserver "keystage.dev/keystage/ldapserver"
	"keystage.dev/keystage/lifecycle/schoolgen"
	"keystage.dev/keystage/passwords"
)

// Bench stores: every person has BenchPassword, hashed once at the
// default argon2id cost (the cost keystage is configured with unless
// changed), and the service account bench-reader may read everyone.
const (
	benchPassword = "Bench-Otter-Lamp-62"
	benchReader   = "bench-reader"
)

// benchSizes are the store sizes compared; KEYSTAGE_BENCH_ACCOUNTS
// replaces the larger one.
func benchSizes(b *testing.B) []int {
	large := 200_000
	if v := os.Getenv("KEYSTAGE_BENCH_ACCOUNTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("KEYSTAGE_BENCH_ACCOUNTS=%q: %v", v, err)
		}
		large = n
	}
	return []int{1_000, large}
}

// BenchStore opens (seeding it once, in the temp directory) a store of n
// generated people for the LDAP benchmarks; the load tool in bench/ldap
// uses the same files through keystage serve.
func benchStore(b *testing.B, n int) directory.Store {
	return benchStoreCost(b, n, passwords.DefaultArgon2Params(), "")
}

// lowCost is bench/compare's -cost low: argon2id with 64 KiB and one pass.
func lowCost() passwords.Argon2Params {
	p := passwords.DefaultArgon2Params()
	p.Memory, p.Iterations = 64, 1
	return p
}

// benchStoreCost is benchStore with the password hashed at cost p, in a
// file named with suffix.
func benchStoreCost(b *testing.B, n int, p passwords.Argon2Params, suffix string) directory.Store {
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("keystage-ldap-bench-%d%s.db", n, suffix))
	s, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + path})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	have, err := s.CountAccounts(ctx, directory.AccountQuery{})
	if err != nil {
		b.Fatal(err)
	}
	if have == n+1 {
		return s
	}
	if have != 0 {
		b.Fatalf("%s holds %d accounts, want 0 or %d: delete it", path, have, n+1)
	}
	h := &passwords.Hasher{Params: p}
	hash, err := h.Hash(benchPassword)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeding %d people into %s (once)…", n, path)
	if _, err := schoolgen.Seed(ctx, s, schoolgen.People(schoolgen.Large(n)), schoolgen.SeedOptions{
		PasswordHash: func(schoolgen.Person) string { return hash },
	}); err != nil {
		b.Fatal(err)
	}
	err = s.Update(ctx, func(ctx context.Context, tx directory.Tx) error {
		a := directory.Account{Username: benchReader, Role: directory.RoleService, Source: directory.SourceManual, Status: directory.StatusActive}
		if err := tx.CreateAccount(ctx, &a); err != nil {
			return err
		}
		if err := tx.AddCredential(ctx, &directory.Credential{AccountID: a.ID, Kind: directory.CredPassword, Secret: hash, CreatedAt: time.Now()}); err != nil {
			return err
		}
		return tx.Record(ctx, &audit.Event{Time: time.Now(), Actor: "bench", Action: "account.create", Target: "account:" + a.Username})
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchServer serves a bench store on port 0.
func benchServer(b *testing.B, s directory.Store) string {
	return benchServerCost(b, s, passwords.DefaultArgon2Params(), false)
}

// benchServerCost is benchServer hashing at cost p; with records, the
// sign-ins' records are kept in memory and written in batches, as
// keystage serve keeps them (directory.Directory.RunRecords).
func benchServerCost(b *testing.B, s directory.Store, p passwords.Argon2Params, records bool) string {
	// Generated pupils carry no parental consent: the gate would refuse
	// them, and refusing is not what is measured.
	d := directory.New(s, directory.Config{Hasher: &passwords.Hasher{Params: p},
		Policy:  directory.GatePolicy{RequireConsent: func(directory.Account) bool { return false }},
		Lockout: directory.Lockout{Threshold: 1 << 30}})
	srv, err := ldapserver.New(d.Store(), d, ldapserver.Config{BaseDN: "dc=school,dc=example",
		Grants: map[string]ldapserver.Grant{benchReader: {People: true, Groups: true}}, TLS: (*tls.Config)(nil)})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		if records {
			go d.RunRecords(ctx)
		}
		srv.Serve(ctx, ln)
		close(done)
	}()
	b.Cleanup(func() { cancel(); <-done })
	return "ldap://" + ln.Addr().String()
}

// sampleNames spreads lookups over the whole store rather than one hot row.
func sampleNames(b *testing.B, s directory.Store, n int) []string {
	ctx := context.Background()
	var out []string
	step := int64(max(n/1000, 1))
	for after := int64(0); len(out) < 1000; after += step {
		page, err := s.ListAccounts(ctx, directory.AccountQuery{AfterID: after, Limit: 1, Role: directory.RolePupil})
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		out = append(out, page[0].Username)
	}
	return out
}

// latencies collects per-operation times to report the 99th percentile.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }
func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	b.ReportMetric(float64(l.d[len(l.d)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(l.d[len(l.d)/2].Microseconds()), "p50-µs")
}

// BenchmarkSearchUID is an nslcd-style (&(objectClass=posixAccount)(uid=NAME))
// search by a service account over parallel connections; compare the
// sizes: an indexed equality search must cost the same.
func BenchmarkSearchUID(b *testing.B) {
	for _, n := range benchSizes(b) {
		s := benchStore(b, n)
		url := benchServer(b, s)
		names := sampleNames(b, s, n)
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			var lat latencies
			b.RunParallel(func(pb *testing.PB) {
				l, err := ldap.DialURL(url)
				if err != nil {
					b.Error(err)
					return
				}
				defer l.Close()
				if err := l.Bind("uid="+benchReader+",ou=services,dc=school,dc=example", benchPassword); err != nil {
					b.Error(err)
					return
				}
				r := rand.New(rand.NewPCG(rand.Uint64(), 1))
				for pb.Next() {
					name := names[r.IntN(len(names))]
					t0 := time.Now()
					res, err := l.Search(ldap.NewSearchRequest("dc=school,dc=example", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
						"(&(objectClass=posixAccount)(uid="+name+"))", []string{"uid", "uidNumber", "gidNumber", "homeDirectory", "loginShell", "gecos"}, nil))
					lat.add(time.Since(t0))
					if err != nil || len(res.Entries) != 1 || !strings.EqualFold(res.Entries[0].GetAttributeValue("uid"), name) {
						b.Errorf("search %s: %v", name, err)
						return
					}
				}
			})
			lat.report(b)
		})
	}
}

// BenchmarkBind is simple binds of people with the right password at the
// default argon2id cost, over parallel connections.
func BenchmarkBind(b *testing.B) {
	for _, n := range benchSizes(b) {
		s := benchStore(b, n)
		url := benchServer(b, s)
		names := sampleNames(b, s, n)
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			var lat latencies
			b.RunParallel(func(pb *testing.PB) {
				l, err := ldap.DialURL(url)
				if err != nil {
					b.Error(err)
					return
				}
				defer l.Close()
				r := rand.New(rand.NewPCG(rand.Uint64(), 2))
				for pb.Next() {
					name := names[r.IntN(len(names))]
					t0 := time.Now()
					err := l.Bind("uid="+name+",ou=people,dc=school,dc=example", benchPassword)
					lat.add(time.Since(t0))
					if err != nil {
						b.Errorf("bind %s: %v", name, err)
						return
					}
				}
			})
			lat.report(b)
		})
	}
}

// viewServer serves a bench store through directory.View, as keystage
// serve does, on port 0.
func viewServer(b *testing.B, s directory.Store) string {
	return viewServerCost(b, s, passwords.DefaultArgon2Params())
}

// viewServerCost is viewServer hashing at cost p.
func viewServerCost(b *testing.B, s directory.Store, p passwords.Argon2Params) string {
	v := directory.NewView(s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	for !v.Fresh() {
		time.Sleep(10 * time.Millisecond)
	}
	return benchServerCost(b, v, p, true)
}

// BenchmarkServeSearch is the searches nslcd and SSSD send, answered from
// the view, with a client that writes requests encoded beforehand and
// reads the responses as bytes, so that what is measured (allocations
// above all) is the server's: uid is nslcd's passwd lookup, groups SSSD's
// initgroups by memberUid, memberof its rfc2307bis lookup of a person
// with memberOf.
func BenchmarkServeSearch(b *testing.B) {
	s := benchStore(b, 1_000)
	url := viewServer(b, s)
	names := sampleNames(b, s, 1_000)
	for _, tc := range []struct {
		name   string
		filter string
		attrs  []string
	}{
		{"uid", "(&(objectClass=posixAccount)(uid=%s))", []string{"uid", "uidNumber", "gidNumber", "homeDirectory", "loginShell", "gecos"}},
		{"groups", "(&(objectClass=posixGroup)(memberUid=%s))", []string{"cn", "gidNumber"}},
		{"memberof", "(&(objectClass=posixAccount)(uid=%s))", []string{"uid", "uidNumber", "gidNumber", "memberOf"}},
	} {
		reqs := make([][]byte, len(names))
		for i, n := range names {
			reqs[i] = rawSearch(b, int64(i+2), "dc=school,dc=example", fmt.Sprintf(tc.filter, n), tc.attrs)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c := rawBound(b, url)
				defer c.Close()
				r := bufio.NewReader(c)
				i := rand.IntN(len(reqs))
				var buf []byte
				for pb.Next() {
					i = (i + 1) % len(reqs)
					if _, err := c.Write(reqs[i]); err != nil {
						b.Error(err)
						return
					}
					if err := readUntilDone(r, &buf); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// rawSearch encodes a SearchRequest message.
func rawSearch(b *testing.B, id int64, base, filter string, attrs []string) []byte {
	f, err := ldap.CompileFilter(filter)
	if err != nil {
		b.Fatal(err)
	}
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchRequest, nil, "")
	req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, base, ""))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 2, ""))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, ""))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
	req.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	req.AppendChild(f)
	as := ber.NewSequence("")
	for _, a := range attrs {
		as.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
	}
	req.AppendChild(as)
	m := ber.NewSequence("")
	m.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	m.AppendChild(req)
	return m.Bytes()
}

// rawBound dials and binds as the bench reader.
func rawBound(b *testing.B, url string) net.Conn {
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "ldap://"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Write(rawBindRequest(1, "uid="+benchReader+",ou=services,dc=school,dc=example", benchPassword)); err != nil {
		b.Fatal(err)
	}
	p, err := ber.ReadPacket(c)
	if err != nil || len(p.Children) < 2 || len(p.Children[1].Children) < 1 || p.Children[1].Children[0].Value.(int64) != 0 {
		b.Fatalf("bind as %s: %v", benchReader, err)
	}
	return c
}

// readUntilDone reads response messages up to a SearchResultDone, which
// must report success.
func readUntilDone(r *bufio.Reader, buf *[]byte) error { return readResult(r, buf, 0x65) }

// readResult reads response messages up to one whose protocolOp has tag,
// an LDAPResult that must report success.
func readResult(r *bufio.Reader, buf *[]byte, tag byte) error {
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		n := int(hdr[1])
		if hdr[1]&0x80 != 0 {
			n = 0
			for k := int(hdr[1] & 0x7f); k > 0; k-- {
				c, err := r.ReadByte()
				if err != nil {
					return err
				}
				n = n<<8 | int(c)
			}
		}
		if cap(*buf) < n {
			*buf = make([]byte, n)
		}
		body := (*buf)[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			return err
		}
		// messageID (a short INTEGER), then the protocolOp's tag.
		if len(body) < 3 || int(body[1])+2 >= len(body) {
			return fmt.Errorf("short response % x", body)
		}
		op := body[2+int(body[1]):]
		if op[0] == tag {
			if len(op) < 5 || op[4] != 0 {
				return fmt.Errorf("result: % x", op)
			}
			return nil
		}
	}
}

// BenchmarkServeBind is simple binds of people answered from the view, at
// bench/compare's low argon2id cost (64 KiB, one pass), over connections
// that each bind again and again: what a bind costs around the hash.
func BenchmarkServeBind(b *testing.B) {
	s := benchStoreCost(b, 1_000, lowCost(), "-low")
	url := viewServerCost(b, s, lowCost())
	names := sampleNames(b, s, 1_000)
	reqs := make([][]byte, len(names))
	for i, n := range names {
		reqs[i] = rawBindRequest(int64(i+1), "uid="+n+",ou=people,dc=school,dc=example", benchPassword)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "ldap://"))
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		i := rand.IntN(len(reqs))
		var buf []byte
		for pb.Next() {
			i = (i + 1) % len(reqs)
			if _, err := c.Write(reqs[i]); err != nil {
				b.Error(err)
				return
			}
			if err := readResult(r, &buf, 0x61); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// rawBindRequest encodes a simple BindRequest message.
func rawBindRequest(id int64, name, password string) []byte {
	bind := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindRequest, nil, "")
	bind.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, ""))
	bind.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, name, ""))
	bind.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, ""))
	m := ber.NewSequence("")
	m.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	m.AppendChild(bind)
	return m.Bytes()
}
