package directory

import (
	"fmt"
	"net/netip"
	"strings"
)

// NASClient is a RADIUS client (an access point or wireless controller).
type NASClient struct {
	ID        int64
	Name      string
	Addresses []netip.Prefix // single addresses are /32 or /128
	Secret    string         // sealed under the keyring
	KeyID     string
	Vendor    string // cisco, aruba, ubiquiti, meraki, generic ...
	// CoAPort is where the NAS takes Disconnect-Request and CoA-Request
	// (RFC 5176); 0 means the standard 3799.
	CoAPort int
	// School is the id of the trust's school whose site the NAS serves
	// ("": the trust's). A request through it follows that school's
	// network policies before the trust's (see NetworkPolicy.School).
	School string
}

// ParsePrefixes reads a comma-separated list of addresses or CIDR prefixes.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("NAS address %q: want an IP address or CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("NAS addresses: none given")
	}
	return out, nil
}

// FormatPrefixes is the inverse of ParsePrefixes.
func FormatPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		if p.IsSingleIP() {
			s[i] = p.Addr().String()
		} else {
			s[i] = p.String()
		}
	}
	return strings.Join(s, ",")
}
