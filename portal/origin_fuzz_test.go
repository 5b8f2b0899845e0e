package portal

import (
	"net/http"
	"net/netip"
	"testing"
)

// FuzzClientAddr: whatever a client puts in the header, the address the
// lockout counts is the connection's or a well-formed address from the
// header that is not a trusted proxy; and from an untrusted peer the
// header is never read.
func FuzzClientAddr(f *testing.F) {
	for _, seed := range []string{"203.0.113.7", "203.0.113.7, 127.0.0.1", "", ",,,", "::ffff:10.0.0.1, 10.0.0.2", "not an address", "2001:db8::1"} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")},
		ClientAddressHeader: "X-Forwarded-For"}}
	f.Fuzz(func(t *testing.T, header string, fromProxy bool) {
		r := &http.Request{Header: http.Header{}, RemoteAddr: "192.0.2.9:4000"}
		if fromProxy {
			r.RemoteAddr = "127.0.0.1:4000"
		}
		r.Header.Set("X-Forwarded-For", header)
		got := s.clientAddr(r)
		switch {
		case !fromProxy && got != "192.0.2.9":
			t.Fatalf("header %q from an untrusted peer gave %q", header, got)
		case fromProxy && got != "127.0.0.1":
			a, err := netip.ParseAddr(got)
			if err != nil || s.trustedProxy(got) || a.String() != got {
				t.Fatalf("header %q gave %q", header, got)
			}
		}
	})
}
