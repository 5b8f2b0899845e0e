package portal

import (
	"sync"
	"time"
)

// RateLimits bound what people not yet signed in may ask of the portal,
// per minute. The zero value of a field means its default.
type RateLimits struct {
	// PerDevice is for one browser that holds a device cookie. Default 20.
	PerDevice int
	// NewcomersPerAddress is for browsers without a device cookie, from
	// one address, together. Default 120.
	NewcomersPerAddress int
	// PerAddress is the ceiling for one address, whatever the browsers
	// behind it. Default 1200: a school behind one NAT address at 8:45.
	PerAddress int
}

func (l RateLimits) withDefaults() RateLimits {
	if l.PerDevice <= 0 {
		l.PerDevice = 20
	}
	if l.NewcomersPerAddress <= 0 {
		l.NewcomersPerAddress = 120
	}
	if l.PerAddress <= 0 {
		l.PerAddress = 1200
	}
	return l
}

// limiters are the portal's buckets.
type limiters struct {
	device, newcomers, address *limiter
}

func newLimiters(l RateLimits) limiters {
	l = l.withDefaults()
	return limiters{
		device:    newLimiter(l.PerDevice, maxLimiterKeys),
		newcomers: newLimiter(l.NewcomersPerAddress, maxLimiterKeys),
		address:   newLimiter(l.PerAddress, maxLimiterKeys),
	}
}

// maxLimiterKeys bounds each limiter's memory (about 100 bytes a key).
const maxLimiterKeys = 50_000

// limiter is a token bucket per key: perMinute tokens a minute, holding at
// most perMinute. Its keys are bounded: idle buckets (full again) are
// dropped when room is needed, and while none is idle a new key is
// refused, so that inventing keys gains nothing.
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens a second
	burst   float64
	max     int
	buckets map[string]*bucket
	swept   time.Time // the last sweep for room, at most one a second
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(perMinute, maxKeys int) *limiter {
	return &limiter{rate: float64(perMinute) / 60, burst: float64(perMinute), max: maxKeys, buckets: make(map[string]*bucket)}
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt*l.rate)
	}
	b.at = now
}

// allow takes a token from key's bucket, if it has one.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			if now.Sub(l.swept) < time.Second {
				return false
			}
			l.swept = now
			for k, x := range l.buckets {
				if l.refill(x, now); x.tokens >= l.burst {
					delete(l.buckets, k)
				}
			}
			if len(l.buckets) >= l.max {
				return false
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
