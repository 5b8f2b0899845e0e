package main

import (
	"keystage.dev/keystage/directory"
	"keystage.dev/keystage/radius"
	"keystage.dev/keystage/server"
)

// buildNetworkPolicies takes the configuration's [[radius.policy]] into the
// directory as approved mappings at the first start (when the directory
// holds no network policy at all), then reads the mapping in force for
// RADIUS and the web filter. After that first start the directory's
// mappings rule and the configuration's are not read: a change is proposed
// and approved with keystage filter (docs/policy-controls.md).
func buildNetworkPolicies(e *env, d *directory.Directory, cfg *Config) (*server.Frontend, error) {
	e.netPolicies = nil
	if !cfg.RADIUS.Enabled && len(cfg.WebFilter.Receivers) == 0 && !cfg.WebFilter.LDAP.Announce && cfg.WebFilter.Feed.Listen == "" {
		return nil, nil
	}
	n, err := d.ImportNetworkPolicies(e.ctx, "system:configuration", networkPolicies(cfg.RADIUS.policies()))
	if err != nil {
		return nil, err
	}
	if n > 0 {
		e.logger().Info("network policies taken from the configuration into the directory as approved; change them with keystage filter from now on", "count", n)
	}
	np, err := radius.NewNetworkPolicies(e.ctx, d.Store(), cfg.RADIUS.policies())
	if err != nil {
		return nil, err
	}
	if np.FromDirectory() && len(cfg.RADIUS.Policies) > 0 && n == 0 {
		e.logger().Info("[[radius.policy]] in the configuration is not read: the directory holds the network policies (keystage filter list)")
	}
	e.netPolicies = np
	return nil, nil
}

// networkPolicies are RADIUS policies as directory mappings, for the import.
func networkPolicies(ps []radius.Policy) []directory.NetworkPolicy {
	out := make([]directory.NetworkPolicy, len(ps))
	for i, p := range ps {
		out[i] = directory.NetworkPolicy{Group: p.Group, VLAN: p.VLAN, FilterID: p.FilterID, SessionTimeout: p.SessionTimeout, Class: p.Class}
	}
	return out
}
