package radius

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"keystage.dev/keystage/directory"
)

// DefaultCoAPort is where a NAS listens for Disconnect-Request and
// CoA-Request unless its record says otherwise (RFC 5176).
const DefaultCoAPort = 3799

// client is a NAS client with its shared secret opened.
type client struct {
	name    string
	secret  []byte
	vendor  string
	coaPort int
	school  string // the trust's school whose site it serves; "" the trust's
	signers sync.Pool
}

// signer is a signer of the client's secret, ready to write to; release
// gives it back.
func (c *client) signer() *signer {
	sg, _ := c.signers.Get().(*signer)
	if sg == nil {
		return newSigner(c.secret)
	}
	sg.mac.Reset()
	sg.md.Reset()
	return sg
}

func (c *client) release(sg *signer) { c.signers.Put(sg) }

type clientEntry struct {
	prefix netip.Prefix
	c      *client
}

// clientTable finds the NAS client of a source address: the longest prefix
// that holds it wins, so a controller can be named inside a site's range.
type clientTable struct {
	entries []clientEntry
}

func (t *clientTable) lookup(a netip.Addr) *client {
	a = a.Unmap()
	var best *client
	bits := -1
	for _, e := range t.entries {
		if e.prefix.Bits() > bits && e.prefix.Contains(a) {
			best, bits = e.c, e.prefix.Bits()
		}
	}
	return best
}

// schoolOf is the school of the NAS client called name ("" for the
// trust's, or for one not known).
func (t *clientTable) schoolOf(name string) string {
	if t == nil {
		return ""
	}
	for _, e := range t.entries {
		if e.c.name == name {
			return e.c.school
		}
	}
	return ""
}

// loadClients reads the NAS clients and opens their secrets. A client whose
// secret cannot be opened is left out (and reported), not the whole table.
func loadClients(ctx context.Context, r Reader, sealer directory.Sealer) (*clientTable, []error, error) {
	ns, err := r.NASClients(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("radius: load NAS clients: %w", err)
	}
	t := &clientTable{}
	var problems []error
	for _, n := range ns {
		secret, err := sealer.Open(n.Secret, []byte(directory.SealNAS))
		if err != nil {
			problems = append(problems, fmt.Errorf("NAS client %s: shared secret cannot be opened (key %q): %w", n.Name, n.KeyID, err))
			continue
		}
		port := n.CoAPort
		if port == 0 {
			port = DefaultCoAPort
		}
		c := &client{name: n.Name, secret: secret, vendor: n.Vendor, coaPort: port, school: n.School}
		for _, p := range n.Addresses {
			t.entries = append(t.entries, clientEntry{prefix: p, c: c})
		}
	}
	return t, problems, nil
}
