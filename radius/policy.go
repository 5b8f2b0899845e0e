package radius

import (
	"fmt"
	"sync"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2868"
	"layeh.com/radius/rfc3580"
)

// Policy is the network a group's members land on. When an account is in
// several groups with a policy, the first policy in the configured order
// wins as a whole (say staff before pupils before guests), so that what a
// person gets never depends on mixing attributes of different networks.
type Policy struct {
	// Group is a group name; "*" matches every account (put it last).
	Group string
	// VLAN is sent as Tunnel-Type=VLAN, Tunnel-Medium-Type=IEEE-802 and
	// Tunnel-Private-Group-Id (RFC 3580 3.31).
	VLAN string
	// FilterID names a filter (ACL) the NAS applies.
	FilterID string
	// SessionTimeout ends the session after this long (0: none sent).
	SessionTimeout time.Duration
	// Class is echoed by the NAS in accounting, to tell the networks apart.
	Class string
}

// Validate says what is wrong with a policy.
func (p Policy) Validate() error {
	if p.Group == "" {
		return fmt.Errorf("radius policy: group missing")
	}
	if len(p.VLAN) > 253 || len(p.FilterID) > 253 || len(p.Class) > 253 {
		return fmt.Errorf("radius policy %s: vlan, filter_id and class must be at most 253 bytes", p.Group)
	}
	if p.SessionTimeout < 0 || p.SessionTimeout > time.Duration(1<<32-1)*time.Second {
		return fmt.Errorf("radius policy %s: session_timeout out of range", p.Group)
	}
	return nil
}

// policyFor picks the policy of an account in groups.
func policyFor(ps []Policy, groups map[string]bool) (Policy, bool) {
	for _, p := range ps {
		if p.Group == "*" || groups[p.Group] {
			return p, true
		}
	}
	return Policy{}, false
}

// apply adds the policy's attributes to an Access-Accept.
func (p Policy) apply(r *layeh.Packet) {
	if p.VLAN != "" {
		addVLAN(r, p.VLAN)
	}
	if p.FilterID != "" {
		r.Add(rfc2865.FilterID_Type, layeh.Attribute(p.FilterID))
	}
	if p.SessionTimeout > 0 {
		rfc2865.SessionTimeout_Set(r, rfc2865.SessionTimeout(p.SessionTimeout/time.Second))
	}
	if p.Class != "" {
		r.Add(rfc2865.Class_Type, layeh.Attribute(p.Class))
	}
}

func addVLAN(r *layeh.Packet, vlan string) {
	rfc2868.TunnelType_Set(r, 0, rfc3580.TunnelType_Value_VLAN)
	rfc2868.TunnelMediumType_Set(r, 0, rfc2868.TunnelMediumType_Value_IEEE802)
	rfc2868.TunnelPrivateGroupID_SetString(r, 0, vlan)
}

// maxPolicyAttrs bounds the policies whose attributes are kept: one for
// each policy in force, and one for each exception met (which names an
// account), so past it a policy's attributes are made for each request.
const maxPolicyAttrs = 1024

// policyAttrs holds the Access-Accept attributes of the policies met, made
// once, so that an accept does not encode a VLAN's three attributes
// afresh. The attributes are shared between replies: they are appended to
// a reply, never changed.
type policyAttrs struct {
	mu sync.RWMutex
	m  map[Policy]layeh.Attributes
}

func newPolicyAttrs() *policyAttrs { return &policyAttrs{m: make(map[Policy]layeh.Attributes)} }

// get returns the attributes of p, which apply adds to a reply.
func (c *policyAttrs) get(p Policy) layeh.Attributes {
	c.mu.RLock()
	attrs, ok := c.m[p]
	c.mu.RUnlock()
	if ok {
		return attrs
	}
	var scratch layeh.Packet
	p.apply(&scratch)
	c.mu.Lock()
	if len(c.m) < maxPolicyAttrs {
		c.m[p] = scratch.Attributes
	}
	c.mu.Unlock()
	return scratch.Attributes
}
