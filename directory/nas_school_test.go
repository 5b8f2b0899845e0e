package directory_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"keystage.dev/keystage/directory"
)

// A NAS client and a network policy may belong to one of the trust's
// configured schools, and to no other; a school's mapping of a group
// stands beside the trust's, superseding only the same school's.
func TestNetworkPolicyAndNASOfASchool(t *testing.T) {
	ctx := context.Background()
	f, p := controlled(t, directory.DevicePolicy{})
	f.d = directory.New(f.s, directory.Config{Hasher: f.d.Hasher(), Sealer: f.d.Sealer(), Now: func() time.Time { return f.now },
		Controls: directory.Controls{FilteringApprovers: []string{"slt"}},
		Schools:  []directory.School{{ID: "north", Name: "Northgate Academy"}, {ID: "south", Name: "Southfield School"}}})
	ap := netip.MustParsePrefix("10.1.0.0/16")
	if _, err := f.d.PutNAS(ctx, "cli:tech", directory.NASClient{Name: "west-ap", Addresses: []netip.Prefix{ap}, School: "west"}, "a-long-shared-secret-1"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("a NAS of a school not configured: %v, want ErrInvalid", err)
	}
	if _, err := f.d.PutNAS(ctx, "cli:tech", directory.NASClient{Name: "north-ap", Addresses: []netip.Prefix{ap}, School: "north"}, "a-long-shared-secret-1"); err != nil {
		t.Fatal(err)
	}
	if ns, err := f.s.NASClients(ctx); err != nil || len(ns) != 1 || ns[0].School != "north" {
		t.Fatalf("NAS clients: %+v %v", ns, err)
	}

	if _, err := f.d.ImportNetworkPolicies(ctx, "config", []directory.NetworkPolicy{{Group: "pupils", VLAN: "20"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.ProposeNetworkPolicy(ctx, "cli:tech", directory.NetworkPolicy{Group: "pupils", VLAN: "320", RiskNote: "r", School: "west"}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("a proposal for a school not configured: %v, want ErrInvalid", err)
	}
	approve := func(np directory.NetworkPolicy) directory.NetworkPolicy {
		t.Helper()
		prop, err := f.d.ProposeNetworkPolicy(ctx, "cli:tech", np)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.d.DecideNetworkPolicy(ctx, "cli:tech", p["sltmember"], prop.ID, true, "")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	inForce := func() map[string]string {
		all, err := f.s.NetworkPolicies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, p := range directory.NetworkPoliciesInForce(all) {
			m[p.School+"/"+p.Group] = p.VLAN
		}
		return m
	}
	approve(directory.NetworkPolicy{Group: "pupils", VLAN: "120", RiskNote: "north's pupil VLAN", School: "north"})
	approve(directory.NetworkPolicy{Group: "pupils", VLAN: "220", RiskNote: "south's pupil VLAN", School: "south"})
	if got := inForce(); got["/pupils"] != "20" || got["north/pupils"] != "120" || got["south/pupils"] != "220" || len(got) != 3 {
		t.Fatalf("a school's mapping beside the trust's: %v", got)
	}
	// North's new mapping supersedes north's alone.
	approve(directory.NetworkPolicy{Group: "pupils", VLAN: "121", RiskNote: "north's new VLAN", School: "north"})
	if got := inForce(); got["/pupils"] != "20" || got["north/pupils"] != "121" || got["south/pupils"] != "220" || len(got) != 3 {
		t.Fatalf("after north's change: %v", got)
	}
	// South's removal leaves the trust's mapping to south's access points.
	approve(directory.NetworkPolicy{Group: "pupils", Removal: true, RiskNote: "back to the trust's", School: "south"})
	if got := inForce(); got["/pupils"] != "20" || got["north/pupils"] != "121" || len(got) != 2 {
		t.Fatalf("after south's removal: %v", got)
	}
	want := []string{"network.propose", "network.approve", "network.propose", "network.approve"}
	if evs := eventsAbout(t, f.s, "network:north/pupils"); !slices.Equal(evs, want) {
		t.Errorf("events about network:north/pupils = %v, want %v", evs, want)
	}
	if evs := eventsAbout(t, f.s, "network:pupils"); !slices.Equal(evs, []string{"network.import"}) {
		t.Errorf("events about the trust's network:pupils = %v", evs)
	}
}
