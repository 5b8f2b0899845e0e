package passwords

import (
	"crypto/sha1"
	"crypto/sha512"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	zxcvbn "github.com/nbutton23/zxcvbn-go"
	"golang.org/x/crypto/bcrypt"
)

// benchInputs are the kinds of 256-character input the policy check is
// measured on. Each is built deterministically so runs compare.
func benchInputs() []struct{ name, pw string } {
	r := rand.New(rand.NewChaCha8([32]byte{7}))
	var random strings.Builder
	for range 256 {
		random.WriteByte(byte('!' + r.IntN('~'-'!'+1)))
	}
	return []struct{ name, pw string }{
		{"random", random.String()},
		{"passphrase", fill("Purple tiger dances at 7 pm, ")},
		// Four distinct l33t characters, so zxcvbn's l33t matcher runs.
		{"l33t", fill("P@ssw0rd-5unsh1ne-")},
		{"keyboard-walk", fill("1qaz2wsx3edc4rfv!QAZ@WSX#EDC$RFV")},
		{"decorated-word", "#" + fill("Sunshine")[:253] + "1!"},
	}
}

// fill repeats s to exactly 256 runes.
func fill(s string) string {
	rs := []rune(strings.Repeat(s, 256/len([]rune(s))+1))
	return string(rs[:256])
}

// timed runs f b.N times, timing each call, and reports the 50th and 99th
// percentiles of the wall clock beside the mean that ns/op gives, and the
// 99th percentile of the CPU time the call used on its thread where the
// system tells it (Linux) and cpu is set: on a loaded machine the wall-clock
// tail is mostly waiting for a core, which the CPU time leaves out. The
// goroutine is locked to its thread so that the CPU time is the call's; cpu
// is false for work that runs on other goroutines too (argon2id computes its
// lanes on goroutines of its own).
func timed(b *testing.B, cpu bool, f func()) {
	b.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	wall := make([]time.Duration, 0, b.N)
	cpus := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c0, ok := threadCPU()
		t := time.Now()
		f()
		wall = append(wall, time.Since(t))
		if c1, _ := threadCPU(); ok && cpu {
			cpus = append(cpus, c1-c0)
		}
	}
	b.StopTimer()
	b.ReportMetric(percentile(wall, 50), "p50-ns/op")
	b.ReportMetric(percentile(wall, 99), "p99-ns/op")
	if len(cpus) > 0 {
		b.ReportMetric(percentile(cpus, 99), "cpu-p99-ns/op")
	}
}

func percentile(ds []time.Duration, p int) float64 {
	slices.Sort(ds)
	return float64(ds[min(len(ds)-1, len(ds)*p/100)].Nanoseconds())
}

// BenchmarkCheck256 is the figure: a staff-policy check of 256
// characters, which the issue wants under 2 ms at the 99th percentile.
func BenchmarkCheck256(b *testing.B) {
	p := DefaultPolicies()["staff"]
	who := Person{Username: "jsmith42", GivenName: "Jane", FamilyName: "Smith-Okafor"}
	for _, in := range benchInputs() {
		if n := len([]rune(in.pw)); n != 256 {
			b.Fatalf("%s has %d runes", in.name, n)
		}
		b.Run(in.name, func(b *testing.B) {
			timed(b, true, func() { p.Check(in.pw, who) })
		})
	}
}

// BenchmarkZxcvbnWindow compares the library alone with keyboard walks
// matched here, on the window zxcvbn sees and with the l33t filter Check
// uses: the cost spatial.go removes.
func BenchmarkZxcvbnWindow(b *testing.B) {
	for _, in := range benchInputs() {
		w := string([]rune(in.pw)[:zxcvbnWindow])
		b.Run(in.name+"/library", func(b *testing.B) {
			timed(b, true, func() { zxcvbn.PasswordStrength(w, nil, leetFilter(w)...) })
		})
		b.Run(in.name+"/keystage", func(b *testing.B) {
			timed(b, true, func() { zxcvbnScore(w, nil, leetFilter(w)...) })
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	h := &Hasher{Params: DefaultArgon2Params()}
	const pw = "Purple tiger 7"
	argon, err := h.Hash(pw)
	if err != nil {
		b.Fatal(err)
	}
	low := DefaultArgon2Params()
	low.Memory, low.Iterations = 64, 1
	argonLow, err := (&Hasher{Params: low}).Hash(pw)
	if err != nil {
		b.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), 10)
	if err != nil {
		b.Fatal(err)
	}
	salt := []byte("8bytesal")
	cases := []struct{ name, enc string }{
		{"argon2id-default", argon},
		{"argon2id-low", argonLow}, // bench/compare -cost low: 64 KiB, one pass
		{"bcrypt-cost10", string(bc)},
		{"sha512crypt-5000", sha512Crypt([]byte(pw), []byte("saltstring"), sha512CryptDefaultRounds, false)},
		{"ssha", sshaOf("{SSHA}", sha1.New, pw, salt)},
		{"ssha512", sshaOf("{SSHA512}", sha512.New, pw, salt)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			timed(b, false, func() {
				if ok, _, err := h.Verify(c.enc, pw); !ok || err != nil {
					b.Fatalf("%v %v", ok, err)
				}
			})
		})
	}
	// A wrong password typed with a decomposed accent is tried twice (NFC,
	// then as typed); DummyVerify for an unknown user does the same.
	const nfd = "Sia\u0302n tiger 7"
	b.Run("argon2id-default-wrong-nfd", func(b *testing.B) {
		timed(b, false, func() {
			if ok, _, err := h.Verify(argon, nfd); ok || err != nil {
				b.Fatalf("%v %v", ok, err)
			}
		})
	})
	b.Run("dummy", func(b *testing.B) {
		timed(b, false, func() { h.DummyVerify(pw) })
	})
	b.Run("dummy-nfd", func(b *testing.B) {
		timed(b, false, func() { h.DummyVerify(nfd) })
	})
}

// BenchmarkWiFi is what a Wi-Fi credential costs in this package: issuing
// one generates it to the staff policy and seals it (as directory.IssueWiFi
// does, under the "keystage:wifi" additional data); using one for MS-CHAPv2
// opens it and takes its NT hash.
func BenchmarkWiFi(b *testing.B) {
	p := DefaultPolicies()["staff"]
	k, err := NewKeyring("a", map[string][]byte{"a": key(1)})
	if err != nil {
		b.Fatal(err)
	}
	ad := []byte("keystage:wifi")
	b.Run("generate+seal", func(b *testing.B) {
		timed(b, true, func() {
			pw, err := GenerateWiFi(p)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := k.Seal([]byte(pw), ad); err != nil {
				b.Fatal(err)
			}
		})
	})
	pw, _ := GenerateWiFi(p)
	sealed, _ := k.Seal([]byte(pw), ad)
	b.Run("open+nthash", func(b *testing.B) {
		timed(b, true, func() {
			clear, err := k.Open(sealed, ad)
			if err != nil {
				b.Fatal(err)
			}
			NTHash(string(clear))
		})
	})
}
