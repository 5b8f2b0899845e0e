package portal

import (
	"testing"
	"time"
)

// A bucket holds a minute's worth, refills, and the keys it keeps are
// bounded: inventing keys while every bucket is busy gains nothing.
func TestLimiterBounds(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := newLimiter(6, 3)
	for i := range 6 {
		if !l.allow("a", now) {
			t.Fatalf("request %d of 6 refused", i+1)
		}
	}
	if l.allow("a", now) {
		t.Fatal("seventh request in the same minute allowed")
	}
	if !l.allow("a", now.Add(10*time.Second)) {
		t.Fatal("no token after ten seconds at six a minute")
	}
	l.allow("b", now)
	l.allow("c", now)
	if l.allow("d", now.Add(2*time.Second)) || l.len() != 3 {
		t.Fatalf("a fourth key was taken while three were busy (%d keys)", l.len())
	}
	if !l.allow("d", now.Add(2*time.Minute)) || l.len() > 3 {
		t.Fatalf("idle buckets were not dropped to make room (%d keys)", l.len())
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                 "192.0.2.7",
		"2001:db8:1:2:aaaa::1":      "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb:cccc::9": "2001:db8:1:2::/64",
		"::ffff:192.0.2.7":          "::ffff:192.0.2.7",
		"not an address":            "not an address",
	} {
		if got := addressKey(in); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// A spent challenge is refused again until it would have expired, and the
// set forgets expired ones as time passes, so it does not grow for ever.
func TestSpentChallenges(t *testing.T) {
	var s spentSet
	now := time.Unix(1_800_000_000, 0)
	if !s.spend("c1", now.Add(ceremonyTTL), now) || s.spend("c1", now.Add(ceremonyTTL), now) {
		t.Fatal("a challenge spent twice, or not at all")
	}
	later := now.Add(ceremonyTTL + 2*time.Minute)
	if !s.spend("c2", later.Add(ceremonyTTL), later) {
		t.Fatal("a new challenge refused")
	}
	if _, kept := s.seen["c1"]; kept || len(s.seen) != 1 {
		t.Fatalf("expired challenges kept: %v", s.seen)
	}
}
