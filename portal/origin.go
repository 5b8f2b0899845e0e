package portal

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"keystage.dev/keystage/directory"
)

// clientAddr is the peer's address: the connection's, or, when the
// connection comes from a configured trusted proxy, the nearest address
// in the configured header that is not itself a trusted proxy. A header
// from anyone else is ignored, since anyone can send it.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if s.cfg.ClientAddressHeader == "" || !s.trustedProxy(host) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values(s.cfg.ClientAddressHeader) {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	// The nearest hop is last: walk back over the trusted proxies.
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			return host // garbled: the proxy's own address is all we know
		}
		if !s.trustedProxy(a.Unmap().String()) {
			return a.Unmap().String()
		}
	}
	return host
}

func (s *Server) trustedProxy(host string) bool {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// signinOrigin is the browser as the lockout knows it: its device cookie
// (ceremony.go), which tells apart the many devices a school has behind one
// NAT address. A browser without one (its first sign-in, or a script that
// drops cookies) counts against its address, and is given one with the
// answer, so that a script cycling cookies gains nothing over keeping one.
func (s *Server) signinOrigin(w http.ResponseWriter, r *http.Request) directory.Origin {
	id, known := s.device(w, r)
	return s.originOf(r, id, known)
}

func (s *Server) originOf(r *http.Request, id string, known bool) directory.Origin {
	if known {
		return directory.Origin{ID: deviceID(id)}
	}
	// An address is never familiar (a school may share one): a good
	// sign-in makes the new cookie familiar instead.
	return directory.Origin{ID: "portal:addr:" + s.clientAddr(r), Becomes: deviceID(id)}
}

// deviceID is the lockout's name for a device cookie: its hash, so that
// the database alone cannot make one.
func deviceID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "portal:device:" + hex.EncodeToString(sum[:12])
}
