package radius

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"keystage.dev/keystage/directory"
)

// NetworkPolicyReader reads the network policies kept in the directory (a
// directory.Store is one).
type NetworkPolicyReader interface {
	NetworkPolicies(ctx context.Context) ([]directory.NetworkPolicy, error)
}

// NetworkPolicies are the policies an Access-Accept follows: the mapping of
// groups to networks approved in the directory (directory.NetworkPolicy),
// or, while the directory holds none at all, the configuration's
// (Config.Policies). A proposal not yet approved is never among them. The
// RADIUS server reloads them when the audit trail shows a decision; the web
// filter reads the same set, so that it hears what the access point was
// told.
//
// A policy given for one school (directory.NetworkPolicy.School) applies
// only to requests through that school's NAS clients, and before the
// trust's: for a NAS of school S, the first of S's policies in force whose
// group the person is in applies whole; only when none of S's matches does
// the first matching trust-wide one apply. A NAS of the trust's follows the
// trust-wide policies alone.
type NetworkPolicies struct {
	r        NetworkPolicyReader
	fallback []Policy
	cur      atomic.Pointer[policySet]
	mu       sync.Mutex // one reload at a time
}

type policySet struct {
	ps        []Policy            // the trust's
	schools   map[string][]Policy // each school's, for its NAS clients
	directory bool                // from the directory, not the configuration
}

// NewNetworkPolicies reads the policies in force from r, falling back to
// fallback while r holds none.
func NewNetworkPolicies(ctx context.Context, r NetworkPolicyReader, fallback []Policy) (*NetworkPolicies, error) {
	n := &NetworkPolicies{r: r, fallback: fallback}
	n.cur.Store(&policySet{ps: fallback})
	if err := n.Reload(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// Reload reads the policies in force again. On failure those read before
// stay in force.
func (n *NetworkPolicies) Reload(ctx context.Context) error {
	if n.r == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	all, err := n.r.NetworkPolicies(ctx)
	if err != nil {
		return fmt.Errorf("radius: reading network policies: %w", err)
	}
	if len(all) == 0 {
		n.cur.Store(&policySet{ps: n.fallback})
		return nil
	}
	set := &policySet{directory: true}
	for _, p := range directory.NetworkPoliciesInForce(all) {
		pol := Policy{Group: p.Group, VLAN: p.VLAN, FilterID: p.FilterID, SessionTimeout: p.SessionTimeout, Class: p.Class}
		if p.School == "" {
			set.ps = append(set.ps, pol)
			continue
		}
		if set.schools == nil {
			set.schools = make(map[string][]Policy)
		}
		set.schools[p.School] = append(set.schools[p.School], pol)
	}
	n.cur.Store(set)
	return nil
}

// Current is the trust-wide policies in force, in order of precedence. The
// slice is shared: do not change it.
func (n *NetworkPolicies) Current() []Policy { return n.cur.Load().ps }

// School is the policies in force given for school's NAS clients alone, in
// order of precedence (none for ""). The slice is shared: do not change it.
func (n *NetworkPolicies) School(school string) []Policy {
	if school == "" {
		return nil
	}
	return n.cur.Load().schools[school]
}

// FromDirectory reports whether they come from the directory rather than
// the configuration.
func (n *NetworkPolicies) FromDirectory() bool { return n.cur.Load().directory }

// For is the policy of an account in groups through a NAS of the trust's,
// as the Access-Accept gives it.
func (n *NetworkPolicies) For(groups []string) (Policy, bool) { return PolicyFor(n.Current(), groups) }

// ForSchool is the policy of an account in groups through a NAS of school
// ("": the trust's): school's policies first, then the trust's.
func (n *NetworkPolicies) ForSchool(school string, groups []string) (Policy, bool) {
	m := make(map[string]bool, len(groups))
	for _, g := range groups {
		m[g] = true
	}
	return n.pick(school, m)
}

// pick is ForSchool on a set of groups; it allocates nothing.
func (n *NetworkPolicies) pick(school string, groups map[string]bool) (Policy, bool) {
	set := n.cur.Load()
	if school != "" {
		if pol, ok := policyFor(set.schools[school], groups); ok {
			return pol, true
		}
	}
	return policyFor(set.ps, groups)
}

// policy is the policy an accepted account gets through a NAS of school:
// its groups' (school's policies first, then the trust's, each in
// precedence), with the VLAN and filter of an exception approved for it in
// force at now.
func (s *Server) policy(e *entry, school string, now time.Time) (Policy, bool) {
	pol, ok := s.policies.pick(school, e.groups)
	if ex, has := directory.NetworkException(e.approvals, now); has {
		if !ok {
			pol = Policy{Group: e.account.Username}
		}
		if ex.VLAN != "" {
			pol.VLAN = ex.VLAN
		}
		if ex.FilterID != "" {
			pol.FilterID = ex.FilterID
		}
		ok = true
	}
	return pol, ok
}

// deviceKey is one account's device.
type deviceKey struct {
	account int64
	mac     string
}

// deviceLog gathers when known devices were seen, written with the
// last-use times; a device new to an account is written at once, so that
// the limit counts it on every node.
type deviceLog struct {
	mu sync.Mutex
	m  map[deviceKey]time.Time
}

func newDeviceLog() *deviceLog { return &deviceLog{m: make(map[deviceKey]time.Time)} }

func (l *deviceLog) note(k deviceKey, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.m[k]) {
		l.m[k] = t
	}
}

func (l *deviceLog) take() map[deviceKey]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.m
	l.m = make(map[deviceKey]time.Time)
	return m
}

// maxDevicesNoted is how many devices are recorded for one person at the
// most; past it (only under "flag" at the limit, since "refuse" stops at
// the limit) a new device is let on and logged but not written.
const maxDevicesNoted = 32

// checkDevice applies the rules for personal devices to an account the
// gate lets on from mac. An error (the register of school devices cannot
// be read) refuses the device: the rule is a safeguarding control, and the
// device may try again.
func (s *Server) checkDevice(ctx context.Context, e *entry, mac string, now time.Time) (directory.DeviceDecision, error) {
	pol := s.d.Controls().Devices
	if !pol.Enabled() {
		return directory.DeviceDecision{Allow: true}, nil
	}
	known := false
	for _, d := range e.devices {
		known = known || d.MAC == mac
	}
	dd := pol.DecideDevice(e.account.Role, mac, false, e.approvals, e.devices, now)
	if mac != "" && !(dd.Allow && known) {
		// Refused, or new to the account: a school device is nobody's
		// personal device, allowed and not counted. A known device
		// allowed costs no read.
		_, err := s.store.SchoolDevice(ctx, mac)
		switch {
		case err == nil:
			return pol.DecideDevice(e.account.Role, mac, true, nil, nil, now), nil
		case !errors.Is(err, directory.ErrNotFound):
			return directory.DeviceDecision{}, fmt.Errorf("radius: reading the register of school devices: %w", err)
		}
	}
	if !dd.Allow || !dd.Note || mac == "" {
		return dd, nil
	}
	if known && !dd.Flag {
		s.devices.note(deviceKey{e.account.ID, mac}, now)
		return dd, nil
	}
	if len(e.devices) >= maxDevicesNoted {
		// Flagged already, many times over: one person cycling device
		// addresses must not grow the table without a bound.
		s.log.Warn("radius: a device let on and flagged, not recorded: the person has too many devices recorded", "user", e.account.Username, "device", mac, "recorded", len(e.devices))
		return dd, nil
	}
	if err := s.store.NoteDevice(ctx, e.account.ID, mac, now, dd.Flag); err != nil {
		s.log.Warn("radius: noting a new device", "user", e.account.Username, "device", mac, "err", err)
	}
	// The next request reads the devices again, this one among them.
	s.facts.drop(e.account.Username)
	if dd.Flag {
		s.log.Warn("radius: a device over the limit let on and flagged for the access review", "user", e.account.Username, "device", mac, "limit", dd.Max)
	}
	return dd, nil
}

// flushDevices writes when known devices were last seen.
func (s *Server) flushDevices(ctx context.Context) {
	for k, t := range s.devices.take() {
		if err := s.store.NoteDevice(ctx, k.account, k.mac, t, false); err != nil {
			s.log.Warn("radius: noting devices seen", "err", err)
			return
		}
	}
}
