package portal

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// A passkey sign-in is two requests from someone not yet signed in: begin
// hands the browser a challenge, finish checks the authenticator's answer
// to it. Nothing may be written to the store for someone not yet signed in
// (4,000 begins once wrote 4,000 session rows), so the challenge travels in
// a cookie sealed with the directory's key (every node opens it; the
// browser can neither read nor alter it), and lives for ceremonyTTL.
const (
	ceremonyTTL = 5 * time.Minute
	// sealCeremony binds a sealed ceremony to its purpose.
	sealCeremony = "keystage:portal-passkey-signin"
	// maxSpentChallenges bounds the challenges remembered as used; past it
	// a finish is refused (busy) until older ones expire.
	maxSpentChallenges = 100_000
)

var errNoCeremony = errors.New("no passkey sign-in in progress")

type sealedCeremony struct {
	SessionData webauthn.SessionData `json:"sd"`
	Expires     int64                `json:"exp"` // Unix seconds
}

func (s *Server) ceremonyCookieName() string { return s.cookie + "-passkey" }

// beginCeremony seals sd into the ceremony cookie.
func (s *Server) beginCeremony(w http.ResponseWriter, sd *webauthn.SessionData) error {
	b, err := json.Marshal(sealedCeremony{SessionData: *sd, Expires: s.d.Now().Add(ceremonyTTL).Unix()})
	if err != nil {
		return err
	}
	sealed, err := s.d.Sealer().Seal(b, []byte(sealCeremony))
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: s.ceremonyCookieName(), Value: sealed, Path: "/",
		MaxAge: int(ceremonyTTL / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	return nil
}

// finishCeremony opens the ceremony cookie, once: it is cleared, and its
// challenge is remembered as spent until it would have expired, so that a
// copied cookie and answer cannot be played again.
func (s *Server) finishCeremony(w http.ResponseWriter, r *http.Request) (webauthn.SessionData, error) {
	http.SetCookie(w, &http.Cookie{Name: s.ceremonyCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
	c, err := r.Cookie(s.ceremonyCookieName())
	if err != nil || c.Value == "" {
		return webauthn.SessionData{}, errNoCeremony
	}
	b, err := s.d.Sealer().Open(c.Value, []byte(sealCeremony))
	if err != nil {
		return webauthn.SessionData{}, errNoCeremony
	}
	var sc sealedCeremony
	if err := json.Unmarshal(b, &sc); err != nil {
		return webauthn.SessionData{}, errNoCeremony
	}
	expires := time.Unix(sc.Expires, 0)
	now := s.d.Now()
	if !now.Before(expires) {
		return webauthn.SessionData{}, errNoCeremony
	}
	if !s.spent.spend(sc.SessionData.Challenge, expires, now) {
		return webauthn.SessionData{}, errNoCeremony
	}
	return sc.SessionData, nil
}

// spentSet remembers challenges already answered, each until it expires.
type spentSet struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	swept time.Time // expired entries are dropped at most once a minute
}

// spend reports whether challenge was unspent, and marks it spent until
// expires. A full set refuses rather than forgets.
func (s *spentSet) spend(challenge string, expires, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = make(map[string]time.Time)
	}
	if _, ok := s.seen[challenge]; ok {
		return false
	}
	if len(s.seen) >= maxSpentChallenges || now.Sub(s.swept) > time.Minute {
		s.swept = now
		for k, t := range s.seen {
			if !now.Before(t) {
				delete(s.seen, k)
			}
		}
		if len(s.seen) >= maxSpentChallenges {
			return false
		}
	}
	s.seen[challenge] = expires
	return true
}

// The device cookie tells one browser from another behind one address (a
// whole school may reach the portal through one NAT address), for the rate
// limits here and for the lockout, to which a browser that has signed in
// becomes familiar (origin.go). It holds a random id sealed with the
// directory's key, so that it cannot be invented: a browser without one
// shares its address's bucket for newcomers. It lasts a school year and a
// half, so that a device stays familiar across the holidays.
const (
	sealDevice     = "keystage:portal-device"
	deviceLifetime = 540 * 24 * time.Hour
)

func (s *Server) deviceCookieName() string { return s.cookie + "-device" }

// device returns the browser's device id, issuing a cookie for one when it
// has none (or one this portal did not make).
func (s *Server) device(w http.ResponseWriter, r *http.Request) (id string, known bool) {
	if c, err := r.Cookie(s.deviceCookieName()); err == nil && c.Value != "" {
		if b, err := s.d.Sealer().Open(c.Value, []byte(sealDevice)); err == nil {
			return string(b), true
		}
	}
	var raw [16]byte
	rand.Read(raw[:])
	id = string(raw[:])
	if sealed, err := s.d.Sealer().Seal(raw[:], []byte(sealDevice)); err == nil {
		http.SetCookie(w, &http.Cookie{Name: s.deviceCookieName(), Value: sealed, Path: "/",
			MaxAge: int(deviceLifetime / time.Second), HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	}
	return id, false
}

// allowUnauthenticated rate-limits a request from someone not signed in:
// a known browser by its own bucket, a newcomer by its address's bucket
// for newcomers; and what passes those by its address's ceiling, which is
// high enough for a school behind one NAT address. A flood of newcomers
// from one address thus never reaches the ceiling that the browsers the
// portal knows behind the same address share.
func (s *Server) allowUnauthenticated(r *http.Request, id string, known bool) bool {
	now := s.d.Now()
	addr := addressKey(s.clientAddr(r))
	if known {
		if !s.limits.device.allow(id, now) {
			return false
		}
	} else if !s.limits.newcomers.allow(addr, now) {
		return false
	}
	return s.limits.address.allow(addr, now)
}

// addressKey is what the address buckets count by: an IPv4 address, or
// the /64 of an IPv6 one (a device may use any address of its /64).
func addressKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Unmap().Is4() {
		return addr
	}
	p, err := a.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// tooMany answers a rate-limited request.
func tooMany(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "60")
	jsonError(w, http.StatusTooManyRequests, "Too many sign-in attempts from this device or network. Wait a minute and try again.")
}
